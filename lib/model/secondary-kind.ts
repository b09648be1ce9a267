/**
 * What the secondaries are, decided once from the spec (`SecondaryKind.of`): etcd's grpc-proxy, or the
 * user's own etcd client when `secondary.command` is given. The rules (extra flags, metrics ports) and the
 * topology (`topology/secondaries.ts`, how each kind is rendered) ask this value, never the spec's fields.
 */

/** etcd's own grpc-proxy: registers itself under the cluster's prefix, serves metrics, takes `secondary.extraFlags`. */
export interface GrpcProxyKind {
  readonly name: 'grpc-proxy';
  /** Whether it serves metrics on the metrics port when the spec asks for them. */
  readonly servesMetrics: true;
  /** Whether `secondary.extraFlags` go on its command line. */
  readonly takesExtraFlags: true;
}

/** The user's own etcd client (an application node), run with the spec's command; it carries its own flags. */
export interface CustomKind {
  readonly name: 'custom';
  /** The command template (`secondary.command`), placeholders not yet filled in. */
  readonly command: readonly string[];
  readonly servesMetrics: false;
  readonly takesExtraFlags: false;
}

export type SecondaryKind = GrpcProxyKind | CustomKind;
export type SecondaryKindName = SecondaryKind['name'];

const GRPC_PROXY: GrpcProxyKind = Object.freeze({ name: 'grpc-proxy', servesMetrics: true, takesExtraFlags: true });

/** The variants, and the one decision between them. */
export const SecondaryKind = {
  grpcProxy: (): GrpcProxyKind => GRPC_PROXY,
  fromCommand: (command: readonly string[]): CustomKind => Object.freeze({ name: 'custom', command, servesMetrics: false, takesExtraFlags: false }),
  /** The kind a spec's `secondary` section asks for: a command makes the secondaries the user's own client. */
  of: (secondary: { readonly command?: readonly string[] }): SecondaryKind =>
    secondary.command !== undefined ? SecondaryKind.fromCommand(secondary.command) : SecondaryKind.grpcProxy(),
};
