//! What a resource is to the engine: a schema and lifecycle operations on plain values, each
//! reporting through diagnostics. Nothing here knows about gRPC or protobuf.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::tfvalue::Value;

/// Per-call context: cancelled when Terraform sends `Stop` (Ctrl-C).
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub cancel: CancellationToken,
}

/// Values a plan is computed from; the engine has already applied the common rules to
/// `planned` (see `engine::plan`), the resource adds what only it knows.
pub struct PlanRequest<'a> {
    pub prior: &'a Value,
    pub config: &'a Value,
}

#[async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;

    /// Checks of known configuration values; unknown values are never an error here.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning, after the engine's rules. No network.
    fn modify_plan(&self, _req: &PlanRequest<'_>, _planned: &mut Value, _diags: &mut Diagnostics) {}

    /// Returns the new state; on failure after the remote object changed, returns it too
    /// (with the error in `diags`) so Terraform records it.
    async fn create(&self, ctx: &Ctx, planned: &Value, diags: &mut Diagnostics) -> Option<Value>;
    async fn update(
        &self,
        ctx: &Ctx,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value>;
    async fn delete(&self, ctx: &Ctx, prior: &Value, diags: &mut Diagnostics);
    /// `None` means the remote object is gone.
    async fn read(&self, ctx: &Ctx, current: &Value, diags: &mut Diagnostics) -> Option<Value>;
    /// State for `terraform import` from a user-supplied ID; it is then read.
    async fn import(&self, ctx: &Ctx, id: &str, diags: &mut Diagnostics) -> Option<Value>;

    /// Upgrades state written by an older schema version (already decoded with the current
    /// type, missing attributes null).
    fn upgrade(&self, _from_version: i64, state: Value, _diags: &mut Diagnostics) -> Value {
        state
    }
}

/// The provider as the protocol adapter sees it: its own block and its resources.
#[async_trait]
pub trait Provider: Send + Sync {
    fn schema(&self) -> &Schema;
    /// Checks of known provider configuration values; no network.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Called once per process before any resource operation that needs the provider.
    async fn configure(&self, config: &Value, terraform_version: &str, diags: &mut Diagnostics);
    fn resources(&self) -> &[std::sync::Arc<dyn Resource>];
}
