//! The engine: the registry of resources and data sources (built from the provider's
//! factories, as terraform-plugin-framework's `fwserver` does), the provider data `Configure`
//! produced, cancellation, and dispatch by type name to the rules in [`rules`]. The protocol
//! adapter only converts values and calls these methods.

pub mod duration;
pub(crate) mod rules;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::diag::Diagnostics;
use crate::resource::{Ctx, DataSource, Provider, ProviderData, Resource};
use crate::schema::Schema;
use crate::tfvalue::Value;

pub use duration::parse_go_duration;
pub use rules::{Plan, timeout};

pub struct Engine {
    provider: Arc<dyn Provider>,
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    data: OnceLock<ProviderData>,
    stop: CancellationToken,
}

/// A provider whose registry cannot work: Terraform addresses resources and data sources by
/// type name alone, so two with one name would leave one of them unreachable.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("two resources have the type name {0:?}")]
    DuplicateResource(&'static str),
    #[error("two data sources have the type name {0:?}")]
    DuplicateDataSource(&'static str),
}

impl Engine {
    /// Registers every resource and data source the provider offers; refuses two of a kind
    /// with the same type name, as terraform-plugin-framework does.
    pub fn new(provider: Arc<dyn Provider>) -> Result<Self, EngineError> {
        let mut resources = BTreeMap::new();
        for make in provider.resources() {
            let r = make();
            let name = r.type_name();
            if resources.insert(name, r).is_some() {
                return Err(EngineError::DuplicateResource(name));
            }
        }
        let mut data_sources = BTreeMap::new();
        for make in provider.data_sources() {
            let d = make();
            let name = d.type_name();
            if data_sources.insert(name, d).is_some() {
                return Err(EngineError::DuplicateDataSource(name));
            }
        }
        Ok(Engine {
            provider,
            resources,
            data_sources,
            data: OnceLock::new(),
            stop: CancellationToken::new(),
        })
    }

    pub fn provider_schema(&self) -> &Schema {
        self.provider.schema()
    }

    pub fn resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.resources.iter().map(|(t, r)| (*t, r.schema()))
    }

    pub fn data_source_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.data_sources.iter().map(|(t, d)| (*t, d.schema()))
    }

    fn resource(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&dyn Resource> {
        let r = self.resources.get(type_name).map(|r| r.as_ref());
        if r.is_none() {
            diags.error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}."),
            );
        }
        r
    }

    fn data_source(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&dyn DataSource> {
        let d = self.data_sources.get(type_name).map(|d| d.as_ref());
        if d.is_none() {
            diags.error(
                "Unknown data source",
                format!("This provider has no data source {type_name:?}."),
            );
        }
        d
    }

    /// The schema of a resource type, or an error diagnostic naming it.
    pub fn resource_schema(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&Schema> {
        self.resource(type_name, diags).map(|r| r.schema())
    }

    /// The schema of a data source type, or an error diagnostic naming it.
    pub fn data_source_schema(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&Schema> {
        self.data_source(type_name, diags).map(|d| d.schema())
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            cancel: self.stop.child_token(),
            data: self.data.get().cloned(),
        }
    }

    /// Terraform's `Stop`: cancels every operation in flight.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn validate_provider(&self, config: &Value, diags: &mut Diagnostics) {
        self.provider.validate(config, diags);
    }

    pub async fn configure(
        &self,
        config: &Value,
        terraform_version: &str,
        diags: &mut Diagnostics,
    ) {
        if let Some(data) = self
            .provider
            .configure(config, terraform_version, diags)
            .await
        {
            let _ = self.data.set(data);
        }
    }

    pub fn validate_resource(&self, type_name: &str, config: &Value, diags: &mut Diagnostics) {
        if let Some(r) = self.resource(type_name, diags) {
            rules::validate(r, config, diags);
        }
    }

    pub fn validate_data_source(&self, type_name: &str, config: &Value, diags: &mut Diagnostics) {
        if let Some(d) = self.data_source(type_name, diags) {
            rules::validate_data_source(d, config, diags);
        }
    }

    pub fn plan_resource(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Plan> {
        let r = self.resource(type_name, diags)?;
        Some(rules::plan(r, &self.ctx(), prior, proposed, config, diags))
    }

    pub async fn apply_resource(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let r = self.resource(type_name, diags)?;
        Some(rules::apply(r, &self.ctx(), prior, planned, diags).await)
    }

    pub async fn read_resource(
        &self,
        type_name: &str,
        current: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let r = self.resource(type_name, diags)?;
        Some(rules::read(r, &self.ctx(), current, diags).await)
    }

    pub async fn import_resource(
        &self,
        type_name: &str,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let r = self.resource(type_name, diags)?;
        rules::import(r, &self.ctx(), id, diags).await
    }

    pub fn upgrade_resource(
        &self,
        type_name: &str,
        version: i64,
        json: &[u8],
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let r = self.resource(type_name, diags)?;
        rules::upgrade(r, version, json, diags)
    }

    pub async fn read_data_source(
        &self,
        type_name: &str,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let d = self.data_source(type_name, diags)?;
        Some(rules::read_data_source(d, &self.ctx(), config, diags).await)
    }
}

#[cfg(test)]
mod tests;
