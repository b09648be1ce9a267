/**
 * Imported first by a suite that runs under OpenTofu: the harness (deployment.ts) and `etcd-cluster rollout`
 * then run `tofu` instead of `terraform`, through cdktf's own variable TERRAFORM_BINARY_NAME. Jest gives each
 * test file its own copy of process.env, so no other suite is affected.
 */
process.env.TERRAFORM_BINARY_NAME = 'tofu';
export const OPENTOFU = 'tofu';
