//! What the engine calls: the [`Provider`], [`Resource`] and [`DataSource`] traits, and the
//! per-call [`Ctx`]. Plain values in, plain values out, diagnostics back; nothing here knows
//! about gRPC or protobuf.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::tfvalue::Value;

/// What the provider's `Configure` hands down to every resource and data source (the shared
/// API client, the default region...). Each reads it back as its own type with [`Ctx::data`].
pub type ProviderData = Arc<dyn Any + Send + Sync>;

/// Per-call context: cancelled when Terraform sends `Stop` (Ctrl-C); the provider's data once
/// `Configure` has run.
#[derive(Clone, Default)]
pub struct Ctx {
    pub cancel: CancellationToken,
    pub data: Option<ProviderData>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("configured", &self.data.is_some())
            .finish()
    }
}

impl Ctx {
    /// The provider's data as `T`, if the provider was configured and handed down a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.data.as_deref().and_then(|d| d.downcast_ref::<T>())
    }
}

/// Values a plan is computed from; the engine has already applied the common rules to
/// `planned` (see `engine::rules::plan`), the resource adds what only it knows.
pub struct PlanRequest<'a> {
    pub ctx: &'a Ctx,
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

/// A read-only view of the API: configuration in, every computed attribute out.
#[async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;

    /// Checks of known configuration values; unknown values are never an error here.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// The whole object: the configuration with every computed attribute filled in.
    async fn read(&self, ctx: &Ctx, config: &Value, diags: &mut Diagnostics) -> Option<Value>;
}

/// Makes a resource; the engine calls each once per process.
pub type ResourceFactory = fn() -> Arc<dyn Resource>;
/// Makes a data source; the engine calls each once per process.
pub type DataSourceFactory = fn() -> Arc<dyn DataSource>;

/// The provider: its own block, `Configure`, and what it offers.
#[async_trait]
pub trait Provider: Send + Sync {
    fn schema(&self) -> &Schema;
    /// Checks of known provider configuration values; no network.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Called once per process before any operation that needs the provider; what it returns
    /// is handed to every resource and data source call through [`Ctx::data`].
    async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<ProviderData>;
    fn resources(&self) -> Vec<ResourceFactory>;
    fn data_sources(&self) -> Vec<DataSourceFactory> {
        Vec::new()
    }
}
