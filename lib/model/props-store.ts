/** The props of `backup.store` (props.ts re-exports them). */
/** The object store of `backup.store`. Its credentials stay out of Terraform: a file on the Docker host. */
export interface BackupStoreProps {
  /** The store's URL, `http://host:port` or `https://host:port`. */
  readonly endpoint: string;
  /** Its bucket, which must exist. */
  readonly bucket: string;
  /** The prefix of this cluster's objects; one cluster's only. @default - the cluster's name */
  readonly prefix?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Address the bucket in the path (MinIO, SeaweedFS, most S3-compatible stores) rather than the host name. @default true */
  readonly pathStyle?: boolean;
  /** An absolute file on the Docker host with `AWS_ACCESS_KEY_ID=...` and `AWS_SECRET_ACCESS_KEY=...` lines, mounted read-only. */
  readonly credentialsFile: string;
  /** An absolute file on the Docker host: the CA certificate of an https endpoint. @default - the system's */
  readonly caFile?: string;
  /** How often the events seen since the last upload go to the store. @default '1s' */
  readonly deltaEvery?: string;
  /** `verify` and `members` warn when the store trails the cluster by more than this. @default '30s' */
  readonly maxBehind?: string;
}
