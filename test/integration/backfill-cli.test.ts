/**
 * `ai-visibility backfill`, in-process, against Step Functions answered by aws-sdk-client-mock with
 * the documented shapes (ListStateMachines, DescribeStateMachine, StartExecution,
 * DescribeExecution, ListMapRuns, DescribeMapRun's itemCounts, RedriveExecution).
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  DescribeStateMachineCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { runBackfill, progressLine } from '../../local/backfill/backfill-command';
import { cliRunner } from '../support';

const MACHINE = 'arn:aws:states:us-east-1:999900001111:stateMachine:HistoryImportStateMachine97DC75FF-AbCdEf';
const EXECUTION = 'arn:aws:states:us-east-1:999900001111:execution:HistoryImportStateMachine97DC75FF-AbCdEf:backfill-1';
const MAP_RUN = 'arn:aws:states:us-east-1:999900001111:mapRun:HistoryImportStateMachine97DC75FF-AbCdEf/EachLogObject:0a1b2c3d';
const DEFINITION = JSON.stringify({
  StartAt: 'EachLogObject',
  States: { EachLogObject: { Type: 'Map', End: true, ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'org-trail-logs', 'Prefix.$': '$.prefix' } }, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' }, StartAt: 'ReadLogObjects', States: { ReadLogObjects: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:999900001111:function:backfill', End: true } } } } },
});
const counts = (succeeded: number, failed = 0) => ({ pending: 300 - succeeded - failed, running: 0, succeeded, failed, timedOut: 0, aborted: 0, total: 300, resultsWritten: 0 });

describe('backfill', () => {
  const makeMock = () => mockClient(SFNClient);
  let sfn: ReturnType<typeof makeMock>;
  beforeEach(() => {
    sfn = makeMock();
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [{ stateMachineArn: MACHINE, name: 'HistoryImportStateMachine97DC75FF-AbCdEf', type: 'STANDARD', creationDate: new Date() }, { stateMachineArn: 'arn:aws:states:us-east-1:999900001111:stateMachine:GpuSweepStateMachine-x', name: 'GpuSweepStateMachine-x', type: 'STANDARD', creationDate: new Date() }] });
    sfn.on(DescribeStateMachineCommand).resolves({ stateMachineArn: MACHINE, name: 'h', definition: DEFINITION, roleArn: 'arn:aws:iam::999900001111:role/r', type: 'STANDARD', creationDate: new Date() });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [{ executionArn: EXECUTION, mapRunArn: MAP_RUN, stateMachineArn: MACHINE, startDate: new Date() }] });
  });
  afterEach(() => sfn.restore());

  it('finds the history import, starts it with the range, and follows the map run to the end', async () => {
    sfn.on(DescribeExecutionCommand).resolvesOnce({ executionArn: EXECUTION, stateMachineArn: MACHINE, status: 'RUNNING', startDate: new Date() }).resolves({ executionArn: EXECUTION, stateMachineArn: MACHINE, status: 'SUCCEEDED', startDate: new Date() });
    sfn.on(DescribeMapRunCommand).resolvesOnce({ itemCounts: counts(100) } as never).resolves({ itemCounts: counts(300) } as never);
    const lines: string[] = [];
    const run = await runBackfill({ region: 'us-east-1', prefix: 'ct/AWSLogs/o-exampleorg1/', from: '2026-09-01', to: '2026-11-30', progress: (l) => lines.push(l), sleep: async () => undefined, now: () => new Date('2026-12-02T13:00:00.000Z') });
    expect(run).toEqual({ executionArn: EXECUTION, status: 'SUCCEEDED', objects: { total: 300, succeeded: 300, failed: 0, pending: 0, running: 0 } });
    const start = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(start).toEqual({ stateMachineArn: MACHINE, name: 'backfill-2026-09-01-2026-11-30-2026-12-02T13-00-00-000Z', input: JSON.stringify({ prefix: 'ct/AWSLogs/o-exampleorg1/', from: '2026-09-01', to: '2026-11-30' }) });
    expect(lines).toEqual([`history import ${EXECUTION}`, progressLine({ total: 300, succeeded: 100, failed: 0, pending: 200, running: 0 }), progressLine({ total: 300, succeeded: 300, failed: 0, pending: 0, running: 0 })]);
    expect(lines[1]).toBe('[########----------------] 100/300 log objects');
  });

  it('reports a failed run with how to resume it (exit 1), and resumes it by redrive', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, stateMachineArn: MACHINE, status: 'FAILED', startDate: new Date(), error: 'States.ExceedToleratedFailureThreshold', cause: 'The specified tolerated failure threshold was exceeded' });
    sfn.on(DescribeMapRunCommand).resolves({ itemCounts: counts(200, 100) } as never);
    const failed = await cliRunner()('backfill', '--region', 'us-east-1', '--prefix', 'ct/AWSLogs/', '--from', '2026-11-01', '--to', '2026-11-30');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('log objects: 300 listed, 200 read, 100 failed');
    expect(failed.stdout).toContain(`resume with: ai-visibility backfill --resume ${EXECUTION}`);
    expect(failed.stderr).toContain('(100 failed)');

    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, stateMachineArn: MACHINE, status: 'SUCCEEDED', startDate: new Date() });
    sfn.on(DescribeMapRunCommand).resolves({ itemCounts: counts(300) } as never);
    const resumed = await cliRunner()('backfill', '--region', 'us-east-1', '--resume', EXECUTION, '--json');
    expect(resumed.code).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)[0].args[0].input).toEqual({ executionArn: EXECUTION });
    expect(JSON.parse(resumed.stdout).backfill).toMatchObject({ status: 'SUCCEEDED', objects: { total: 300, succeeded: 300 } });
  });

  it('says what is wrong in one line: the arguments, another bucket, no state machine, a refused call', async () => {
    expect(await cliRunner()('backfill', '--prefix', 'p/', '--from', '2026-11-30', '--to', '2026-11-01')).toMatchObject({ code: 2, stderr: '--from 2026-11-30 is after --to 2026-11-01\n' });
    expect(await cliRunner()('backfill', '--from', '2026-11-01', '--to', '2026-11-30')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^backfill needs --prefix/) });
    expect(await cliRunner()('backfill', '--prefix', 'p/', '--from', 'last week', '--to', '2026-11-30')).toMatchObject({ code: 2, stderr: expect.stringContaining('as days (YYYY-MM-DD)') });
    expect(await cliRunner()('backfill', '--region', 'us-east-1', '--bucket', 'other-bucket', '--prefix', 'p/', '--from', '2026-11-01', '--to', '2026-11-30')).toMatchObject({ code: 1, stderr: 'this stack imports from the trail bucket org-trail-logs (agentTrail.bucketName), not other-bucket\n' });
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    expect(await cliRunner()('backfill', '--region', 'us-east-1', '--prefix', 'p/', '--from', '2026-11-01', '--to', '2026-11-30')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^no history import state machine in this region/) });
    sfn.on(ListStateMachinesCommand).rejects(Object.assign(new Error('User: arn:aws:iam::999900001111:user/x is not authorized to perform: states:ListStateMachines'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    const refused = await cliRunner()('backfill', '--region', 'us-east-1', '--prefix', 'p/', '--from', '2026-11-01', '--to', '2026-11-30');
    expect(refused).toMatchObject({ code: 1, stderr: 'AWS refused the request (AccessDeniedException): User: arn:aws:iam::999900001111:user/x is not authorized to perform: states:ListStateMachines\n' });
  });
});
