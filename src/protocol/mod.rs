//! The tfplugin5 gRPC service: decode the request, call the engine, encode the answer.
//! No business logic; every handler has the same short shape and answers with diagnostics
//! rather than gRPC errors. A panic in a handler becomes an error diagnostic.

mod convert;

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::diag::Diagnostics;
use crate::engine;
use crate::resource::{Ctx, Provider, Resource};

#[allow(dead_code, clippy::all, clippy::pedantic)]
pub(crate) mod pb {
    tonic::include_proto!("tfplugin5");
}

pub type ProviderService = pb::provider_server::ProviderServer<Adapter>;

pub struct Adapter {
    provider: Arc<dyn Provider>,
    resources: HashMap<&'static str, Arc<dyn Resource>>,
    stop: CancellationToken,
}

/// Wraps a provider as the tonic service `plugin::server` serves.
pub fn service(provider: Arc<dyn Provider>) -> ProviderService {
    let resources = provider
        .resources()
        .iter()
        .map(|r| (r.type_name(), r.clone()))
        .collect();
    pb::provider_server::ProviderServer::new(Adapter {
        provider,
        resources,
        stop: CancellationToken::new(),
    })
    .max_decoding_message_size(crate::plugin::server::MAX_MESSAGE_BYTES)
    .max_encoding_message_size(crate::plugin::server::MAX_MESSAGE_BYTES)
}

/// Runs a handler body; a panic inside becomes an error diagnostic instead of a dead plugin.
async fn guarded<T, F>(diags: &mut Diagnostics, fut: F) -> Option<T>
where
    F: Future<Output = T>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Some(v),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(panic = %msg, "handler panicked");
            diags.error(
                "Provider bug: internal error",
                format!("The provider panicked: {msg}. Please report this."),
            );
            None
        }
    }
}

impl Adapter {
    fn resource(&self, type_name: &str, diags: &mut Diagnostics) -> Option<Arc<dyn Resource>> {
        let r = self.resources.get(type_name).cloned();
        if r.is_none() {
            diags.error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}."),
            );
        }
        r
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            cancel: self.stop.child_token(),
        }
    }
}

#[tonic::async_trait]
impl pb::provider_server::Provider for Adapter {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: Vec::new(),
            resources: self
                .resources
                .keys()
                .map(|t| pb::get_metadata::ResourceMetadata {
                    type_name: (*t).to_owned(),
                })
                .collect(),
        }))
    }

    async fn get_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(convert::schema(self.provider.schema())),
            resource_schemas: self
                .resources
                .iter()
                .map(|(t, r)| ((*t).to_owned(), convert::schema(r.schema())))
                .collect(),
            data_source_schemas: Default::default(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }))
    }

    async fn prepare_provider_config(
        &self,
        req: Request<pb::prepare_provider_config::Request>,
    ) -> Result<Response<pb::prepare_provider_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let ty = self.provider.schema().value_type();
        let config = convert::decode(
            req.config.as_ref(),
            &ty,
            "provider configuration",
            &mut diags,
        );
        if let Some(config) = &config {
            let mut inner = Diagnostics::new();
            guarded(&mut diags, async {
                self.provider.validate(config, &mut inner)
            })
            .await;
            diags.extend(inner);
        }
        Ok(Response::new(pb::prepare_provider_config::Response {
            // Terraform keeps the configuration as written when nothing is returned.
            prepared_config: req.config,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_resource_type_config(
        &self,
        req: Request<pb::validate_resource_type_config::Request>,
    ) -> Result<Response<pb::validate_resource_type_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            if let Some(config) =
                convert::decode(req.config.as_ref(), &ty, "configuration", &mut diags)
            {
                let mut inner = Diagnostics::new();
                guarded(&mut diags, async {
                    engine::validate(res.as_ref(), &config, &mut inner)
                })
                .await;
                diags.extend(inner);
            }
        }
        Ok(Response::new(pb::validate_resource_type_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_source_config(
        &self,
        req: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let mut diags = Diagnostics::new();
        diags.error(
            "Unknown data source",
            format!(
                "This provider has no data source {:?}.",
                req.get_ref().type_name
            ),
        );
        Ok(Response::new(pb::validate_data_source_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut upgraded_state = None;
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                diags.error(
                    "Unsupported state format",
                    "This resource's state is in the legacy flatmap format, which this provider never wrote.",
                );
            } else if raw.json.is_empty() {
                upgraded_state = convert::encode(&crate::tfvalue::Value::Null, &ty, &mut diags);
            } else {
                let mut inner = Diagnostics::new();
                let value = guarded(&mut diags, async {
                    engine::upgrade(res.as_ref(), req.version, &raw.json, &mut inner)
                })
                .await
                .flatten();
                diags.extend(inner);
                if let Some(v) = value {
                    upgraded_state = convert::encode(&v, &ty, &mut diags);
                }
            }
        }
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn configure(
        &self,
        req: Request<pb::configure::Request>,
    ) -> Result<Response<pb::configure::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let ty = self.provider.schema().value_type();
        if let Some(config) = convert::decode(
            req.config.as_ref(),
            &ty,
            "provider configuration",
            &mut diags,
        ) {
            let mut inner = Diagnostics::new();
            guarded(
                &mut diags,
                self.provider
                    .configure(&config, &req.terraform_version, &mut inner),
            )
            .await;
            diags.extend(inner);
        }
        Ok(Response::new(pb::configure::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut new_state = req.current_state.clone();
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            if let Some(current) =
                convert::decode(req.current_state.as_ref(), &ty, "current state", &mut diags)
            {
                let mut inner = Diagnostics::new();
                let ctx = self.ctx();
                if let Some(v) = guarded(
                    &mut diags,
                    engine::read(res.as_ref(), &ctx, &current, &mut inner),
                )
                .await
                {
                    new_state = convert::encode(&v, &ty, &mut diags).or(new_state);
                }
                diags.extend(inner);
            }
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: convert::diagnostics(diags),
            private: req.private,
            deferred: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut planned_state = None;
        let mut requires_replace = Vec::new();
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            let prior = convert::decode(req.prior_state.as_ref(), &ty, "prior state", &mut diags);
            let proposed = convert::decode(
                req.proposed_new_state.as_ref(),
                &ty,
                "proposed new state",
                &mut diags,
            );
            let config = convert::decode(req.config.as_ref(), &ty, "configuration", &mut diags);
            if let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) {
                let mut inner = Diagnostics::new();
                let plan = guarded(&mut diags, async {
                    engine::plan(res.as_ref(), &prior, &proposed, &config, &mut inner)
                })
                .await;
                diags.extend(inner);
                if let Some(plan) = plan {
                    planned_state = convert::encode(&plan.planned, &ty, &mut diags);
                    requires_replace = plan
                        .requires_replace
                        .iter()
                        .map(convert::attribute_path)
                        .collect();
                }
            }
        }
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace,
            planned_private: req.prior_private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
            deferred: None,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut new_state = req.prior_state.clone();
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            let prior = convert::decode(req.prior_state.as_ref(), &ty, "prior state", &mut diags);
            let planned =
                convert::decode(req.planned_state.as_ref(), &ty, "planned state", &mut diags);
            if let (Some(prior), Some(planned)) = (prior, planned) {
                let mut inner = Diagnostics::new();
                let ctx = self.ctx();
                let v = guarded(
                    &mut diags,
                    engine::apply(res.as_ref(), &ctx, &prior, &planned, &mut inner),
                )
                .await;
                diags.extend(inner);
                if let Some(v) = v {
                    new_state = convert::encode(&v, &ty, &mut diags).or(new_state);
                }
            }
        }
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: req.planned_private,
            diagnostics: convert::diagnostics(diags),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::new();
        let mut imported_resources = Vec::new();
        if let Some(res) = self.resource(&req.type_name, &mut diags) {
            let ty = res.schema().value_type();
            let mut inner = Diagnostics::new();
            let ctx = self.ctx();
            let state = guarded(
                &mut diags,
                engine::import(res.as_ref(), &ctx, &req.id, &mut inner),
            )
            .await
            .flatten();
            diags.extend(inner);
            if let Some(state) = state
                && let Some(state) = convert::encode(&state, &ty, &mut diags)
            {
                imported_resources.push(pb::import_resource_state::ImportedResource {
                    type_name: req.type_name.clone(),
                    state: Some(state),
                    private: Vec::new(),
                });
            }
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let mut diags = Diagnostics::new();
        diags.error(
            "Unknown data source",
            format!(
                "This provider has no data source {:?}.",
                req.get_ref().type_name
            ),
        );
        Ok(Response::new(pb::read_data_source::Response {
            state: None,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn stop(
        &self,
        _: Request<pb::stop::Request>,
    ) -> Result<Response<pb::stop::Response>, Status> {
        tracing::info!("Terraform asked to stop: cancelling in-flight operations");
        self.stop.cancel();
        Ok(Response::new(pb::stop::Response {
            error: String::new(),
        }))
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::Type;

    #[tokio::test]
    async fn a_panic_becomes_an_error_diagnostic() {
        let mut diags = Diagnostics::new();
        let out: Option<()> = guarded(&mut diags, async { panic!("boom") }).await;
        assert!(out.is_none());
        assert!(diags.has_errors());
        assert!(diags.0[0].detail.contains("boom"), "{:?}", diags);
    }

    #[test]
    fn malformed_msgpack_is_a_diagnostic() {
        let mut diags = Diagnostics::new();
        let bad = pb::DynamicValue {
            msgpack: vec![0x81, 0xa1],
            json: Vec::new(),
        };
        let ty = Type::Object([("a".to_owned(), Type::String)].into_iter().collect());
        assert!(convert::decode(Some(&bad), &ty, "configuration", &mut diags).is_none());
        assert!(diags.has_errors());
        let bad_json = pb::DynamicValue {
            msgpack: Vec::new(),
            json: b"{\"a\": [".to_vec(),
        };
        assert!(convert::decode(Some(&bad_json), &ty, "state", &mut diags).is_none());
        assert_eq!(diags.0.len(), 2);
    }
}
