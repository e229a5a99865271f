/**
 * What the sweep knows about accelerator instance types: how many accelerators each has, how much
 * memory, and what an hour of it costs on demand. The sweep needs the GPU count to read SageMaker
 * metrics (GPUUtilization is 0-100 times the GPU count) and to count idle GPUs, and the price to
 * estimate what an idle resource wastes.
 *
 * Accelerator counts and memory: Amazon EC2 "Accelerated computing instance specifications"
 * (docs.aws.amazon.com/ec2/latest/instancetypes/ac.html); SageMaker AI ML instances (`ml.<type>`)
 * carry the accelerators of the EC2 type of the same name.
 *
 * Prices: Amazon EC2 On-Demand, Linux, US East (N. Virginia), USD per hour, as published on the
 * EC2 On-Demand pricing page (aws.amazon.com/ec2/pricing/on-demand), with P4 and P5 after the
 * June 2025 price reduction. Compiled 2026-11-26 without access to the live page: treat them as
 * an estimate for "wasted per hour", not a bill, and set the `gpuPrices` setting for your
 * region, Savings Plans or negotiated rates. SageMaker ML instances are priced here at the EC2
 * rate of the same type, a lower bound (SageMaker charges more), and say so (`priceBasis`).
 */

export const CATALOG_DATE = '2026-11-26';

export interface AcceleratorSpec {
  /** Accelerators per instance (GPUs, or Inferentia/Trainium devices). */
  readonly count: number;
  readonly name: string;
  /** Memory per accelerator, GiB. */
  readonly memoryGiB: number;
  /** On-demand USD per hour, us-east-1 Linux (undefined when not in the table). */
  readonly pricePerHour?: number;
}

const spec = (count: number, name: string, memoryGiB: number, pricePerHour?: number): AcceleratorSpec => ({ count, name, memoryGiB, pricePerHour });

/** By EC2 instance type. */
export const ACCELERATORS: Readonly<Record<string, AcceleratorSpec>> = {
  'p3.2xlarge': spec(1, 'NVIDIA V100', 16, 3.06),
  'p3.8xlarge': spec(4, 'NVIDIA V100', 16, 12.24),
  'p3.16xlarge': spec(8, 'NVIDIA V100', 16, 24.48),
  'p3dn.24xlarge': spec(8, 'NVIDIA V100', 32, 31.212),
  'p4d.24xlarge': spec(8, 'NVIDIA A100', 40, 21.96),
  'p4de.24xlarge': spec(8, 'NVIDIA A100', 80, 27.447),
  'p5.4xlarge': spec(1, 'NVIDIA H100', 80, 6.88),
  'p5.48xlarge': spec(8, 'NVIDIA H100', 80, 55.04),
  'p5e.48xlarge': spec(8, 'NVIDIA H200', 141, 63.296),
  'p5en.48xlarge': spec(8, 'NVIDIA H200', 141, 63.296),
  'p6-b200.48xlarge': spec(8, 'NVIDIA B200', 179, 113.9328),
  'g4dn.xlarge': spec(1, 'NVIDIA T4', 16, 0.526),
  'g4dn.2xlarge': spec(1, 'NVIDIA T4', 16, 0.752),
  'g4dn.4xlarge': spec(1, 'NVIDIA T4', 16, 1.204),
  'g4dn.8xlarge': spec(1, 'NVIDIA T4', 16, 2.176),
  'g4dn.12xlarge': spec(4, 'NVIDIA T4', 16, 3.912),
  'g4dn.16xlarge': spec(1, 'NVIDIA T4', 16, 4.352),
  'g4dn.metal': spec(8, 'NVIDIA T4', 16, 7.824),
  'g5.xlarge': spec(1, 'NVIDIA A10G', 24, 1.006),
  'g5.2xlarge': spec(1, 'NVIDIA A10G', 24, 1.212),
  'g5.4xlarge': spec(1, 'NVIDIA A10G', 24, 1.624),
  'g5.8xlarge': spec(1, 'NVIDIA A10G', 24, 2.448),
  'g5.12xlarge': spec(4, 'NVIDIA A10G', 24, 5.672),
  'g5.16xlarge': spec(1, 'NVIDIA A10G', 24, 4.096),
  'g5.24xlarge': spec(4, 'NVIDIA A10G', 24, 8.144),
  'g5.48xlarge': spec(8, 'NVIDIA A10G', 24, 16.288),
  'g6.xlarge': spec(1, 'NVIDIA L4', 24, 0.8048),
  'g6.2xlarge': spec(1, 'NVIDIA L4', 24, 0.9776),
  'g6.4xlarge': spec(1, 'NVIDIA L4', 24, 1.3232),
  'g6.8xlarge': spec(1, 'NVIDIA L4', 24, 2.0144),
  'g6.12xlarge': spec(4, 'NVIDIA L4', 24, 4.6016),
  'g6.16xlarge': spec(1, 'NVIDIA L4', 24, 3.3968),
  'g6.24xlarge': spec(4, 'NVIDIA L4', 24, 6.6752),
  'g6.48xlarge': spec(8, 'NVIDIA L4', 24, 13.3504),
  'g6e.xlarge': spec(1, 'NVIDIA L40S', 48, 1.861),
  'g6e.2xlarge': spec(1, 'NVIDIA L40S', 48, 2.24208),
  'g6e.12xlarge': spec(4, 'NVIDIA L40S', 48, 10.49264),
  'g6e.48xlarge': spec(8, 'NVIDIA L40S', 48, 30.13118),
  'inf2.xlarge': spec(1, 'AWS Inferentia2', 32, 0.7582),
  'inf2.8xlarge': spec(1, 'AWS Inferentia2', 32, 1.96786),
  'inf2.24xlarge': spec(6, 'AWS Inferentia2', 32, 6.49063),
  'inf2.48xlarge': spec(12, 'AWS Inferentia2', 32, 12.98127),
  'trn1.2xlarge': spec(1, 'AWS Trainium', 32, 1.34375),
  'trn1.32xlarge': spec(16, 'AWS Trainium', 32, 21.5),
  'trn2.48xlarge': spec(16, 'AWS Trainium2', 96),
};

export interface InstanceAccelerators extends AcceleratorSpec {
  readonly instanceType: string;
  /** Where the price comes from. */
  readonly priceBasis: 'ec2-on-demand' | 'ec2-on-demand (SageMaker ML instances cost more)' | 'configured' | 'unknown';
  /** NVIDIA GPUs report nvidia_smi_* metrics through the CloudWatch agent; Neuron devices do not. */
  readonly nvidia: boolean;
}

/**
 * The accelerators of an EC2 or SageMaker ML instance type, or undefined when it has none we know.
 * `prices` (USD per hour by instance type) overrides the table.
 */
export function acceleratorsOf(instanceType: string, prices: Readonly<Record<string, number>> = {}): InstanceAccelerators | undefined {
  const ml = instanceType.startsWith('ml.');
  const ec2Type = ml ? instanceType.slice(3) : instanceType;
  const known = ACCELERATORS[ec2Type];
  if (!known) return undefined;
  const configured = prices[instanceType];
  const pricePerHour = configured ?? known.pricePerHour;
  return {
    ...known,
    instanceType,
    pricePerHour,
    priceBasis: configured !== undefined ? 'configured' : pricePerHour === undefined ? 'unknown' : ml ? 'ec2-on-demand (SageMaker ML instances cost more)' : 'ec2-on-demand',
    nvidia: known.name.startsWith('NVIDIA'),
  };
}

/** EC2 instance-type filter values: every accelerator type the catalog knows, by family wildcard. */
export const GPU_TYPE_FILTER = [...new Set(Object.keys(ACCELERATORS).map((t) => `${t.split('.')[0]}.*`))].sort();
