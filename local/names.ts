/** The region and credentials the embedded services answer with. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Names of the local runtime's stand-ins, apart from the handlers so a command can name them without loading those. */
export const LOCAL_TABLE_NAME = 'ai-visibility-local';
/** The findings topic the local notifier "publishes" to. */
export const LOCAL_FINDINGS_TOPIC = 'arn:aws:sns:local:000000000000:ai-visibility-findings';
