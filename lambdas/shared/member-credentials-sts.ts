/** The STS client and the one command organization mode calls, imported by name (a dynamic import of the package would keep every command). */
export { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
