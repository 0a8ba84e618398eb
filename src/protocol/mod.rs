//! The tfplugin5 gRPC service: decode the request, call the engine, encode the answer.
//! No business logic; every handler has the same short shape, runs in a span named after its
//! RPC (`tf_rpc`, `tf_req_id`, `tf_resource_type` / `tf_data_source_type`, as
//! terraform-plugin-go names them), and answers with diagnostics rather than gRPC errors. A
//! panic in a handler becomes an error diagnostic.

mod convert;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::diag::Diagnostics;
use crate::engine::Engine;
use crate::tfvalue::Value;

#[allow(dead_code, clippy::all, clippy::pedantic)]
pub(crate) mod pb {
    tonic::include_proto!("tfplugin5");
}

/// Max gRPC message size, as terraform-plugin-go allows (tonic's default is 4 MiB).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

pub type ProviderService = pb::provider_server::ProviderServer<Adapter>;

pub struct Adapter {
    engine: Arc<Engine>,
}

/// Wraps the engine as the tonic service `plugin::server` serves.
pub fn service(engine: Arc<Engine>) -> ProviderService {
    pb::provider_server::ProviderServer::new(Adapter { engine })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
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

/// What an RPC is about, for its span.
enum Subject<'a> {
    Provider,
    Resource(&'a str),
    DataSource(&'a str),
}

/// The span every log line of one RPC carries. Error level, so lines at any level that is on
/// keep the RPC's fields.
fn rpc_span(rpc: &'static str, subject: Subject<'_>) -> tracing::Span {
    let req_id = uuid::Uuid::new_v4();
    match subject {
        Subject::Provider => tracing::error_span!("rpc", tf_rpc = rpc, tf_req_id = %req_id),
        Subject::Resource(t) => {
            tracing::error_span!("rpc", tf_rpc = rpc, tf_req_id = %req_id, tf_resource_type = t)
        }
        Subject::DataSource(t) => {
            tracing::error_span!("rpc", tf_rpc = rpc, tf_req_id = %req_id, tf_data_source_type = t)
        }
    }
}

/// Decodes a value Terraform sent with the schema's type; `None` (with a diagnostic) if it
/// cannot be decoded.
fn decode_all<const N: usize>(
    values: [(Option<&pb::DynamicValue>, &str); N],
    ty: &crate::tfvalue::Type,
    diags: &mut Diagnostics,
) -> Option<[Value; N]> {
    let decoded: Vec<Option<Value>> = values
        .into_iter()
        .map(|(v, what)| convert::decode(v, ty, what, diags))
        .collect();
    let all: Vec<Value> = decoded.into_iter().collect::<Option<Vec<_>>>()?;
    all.try_into().ok()
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
            data_sources: self
                .engine
                .data_source_schemas()
                .map(|(t, _)| pb::get_metadata::DataSourceMetadata {
                    type_name: t.to_owned(),
                })
                .collect(),
            resources: self
                .engine
                .resource_schemas()
                .map(|(t, _)| pb::get_metadata::ResourceMetadata {
                    type_name: t.to_owned(),
                })
                .collect(),
        }))
    }

    async fn get_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(convert::schema(self.engine.provider_schema())),
            resource_schemas: self
                .engine
                .resource_schemas()
                .map(|(t, s)| (t.to_owned(), convert::schema(s)))
                .collect(),
            data_source_schemas: self
                .engine
                .data_source_schemas()
                .map(|(t, s)| (t.to_owned(), convert::schema(s)))
                .collect(),
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
        let span = rpc_span("PrepareProviderConfig", Subject::Provider);
        let mut diags = Diagnostics::new();
        let ty = self.engine.provider_schema().value_type();
        if let Some([config]) = decode_all(
            [(req.config.as_ref(), "provider configuration")],
            &ty,
            &mut diags,
        ) {
            let mut inner = Diagnostics::new();
            guarded(&mut diags, async {
                self.engine.validate_provider(&config, &mut inner)
            })
            .instrument(span)
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
        let t = req.type_name.as_str();
        let span = rpc_span("ValidateResourceTypeConfig", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([config]) =
                decode_all([(req.config.as_ref(), "configuration")], &ty, &mut diags)
        {
            let mut inner = Diagnostics::new();
            guarded(&mut diags, async {
                self.engine.validate_resource(t, &config, &mut inner)
            })
            .instrument(span)
            .await;
            diags.extend(inner);
        }
        Ok(Response::new(pb::validate_resource_type_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn validate_data_source_config(
        &self,
        req: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let req = req.into_inner();
        let t = req.type_name.as_str();
        let span = rpc_span("ValidateDataSourceConfig", Subject::DataSource(t));
        let mut diags = Diagnostics::new();
        if let Some(ty) = self
            .engine
            .data_source_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([config]) =
                decode_all([(req.config.as_ref(), "configuration")], &ty, &mut diags)
        {
            let mut inner = Diagnostics::new();
            guarded(&mut diags, async {
                self.engine.validate_data_source(t, &config, &mut inner)
            })
            .instrument(span)
            .await;
            diags.extend(inner);
        }
        Ok(Response::new(pb::validate_data_source_config::Response {
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let t = req.type_name.as_str();
        let span = rpc_span("UpgradeResourceState", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        let mut upgraded_state = None;
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
        {
            let raw = req.raw_state.clone().unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                diags.error(
                    "Unsupported state format",
                    "This resource's state is in the legacy flatmap format, which this provider never wrote.",
                );
            } else if raw.json.is_empty() {
                upgraded_state = convert::encode(&Value::Null, &ty, &mut diags);
            } else {
                let mut inner = Diagnostics::new();
                let value = guarded(&mut diags, async {
                    self.engine
                        .upgrade_resource(t, req.version, &raw.json, &mut inner)
                })
                .instrument(span)
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
        let span = rpc_span("Configure", Subject::Provider);
        let mut diags = Diagnostics::new();
        let ty = self.engine.provider_schema().value_type();
        if let Some([config]) = decode_all(
            [(req.config.as_ref(), "provider configuration")],
            &ty,
            &mut diags,
        ) {
            let mut inner = Diagnostics::new();
            guarded(
                &mut diags,
                self.engine
                    .configure(&config, &req.terraform_version, &mut inner),
            )
            .instrument(span)
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
        let t = req.type_name.as_str();
        let span = rpc_span("ReadResource", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        let mut new_state = req.current_state.clone();
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([current]) = decode_all(
                [(req.current_state.as_ref(), "current state")],
                &ty,
                &mut diags,
            )
        {
            let mut inner = Diagnostics::new();
            let read = self.engine.read_resource(t, &current, &mut inner);
            if let Some(v) = guarded(&mut diags, read).instrument(span).await.flatten() {
                new_state = convert::encode(&v, &ty, &mut diags).or(new_state);
            }
            diags.extend(inner);
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
        let t = req.type_name.as_str();
        let span = rpc_span("PlanResourceChange", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        let mut planned_state = None;
        let mut requires_replace = Vec::new();
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([prior, proposed, config]) = decode_all(
                [
                    (req.prior_state.as_ref(), "prior state"),
                    (req.proposed_new_state.as_ref(), "proposed new state"),
                    (req.config.as_ref(), "configuration"),
                ],
                &ty,
                &mut diags,
            )
        {
            let mut inner = Diagnostics::new();
            let plan = guarded(&mut diags, async {
                self.engine
                    .plan_resource(t, &prior, &proposed, &config, &mut inner)
            })
            .instrument(span)
            .await
            .flatten();
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
        let t = req.type_name.as_str();
        let span = rpc_span("ApplyResourceChange", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        let mut new_state = req.prior_state.clone();
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([prior, planned]) = decode_all(
                [
                    (req.prior_state.as_ref(), "prior state"),
                    (req.planned_state.as_ref(), "planned state"),
                ],
                &ty,
                &mut diags,
            )
        {
            let mut inner = Diagnostics::new();
            let apply = self.engine.apply_resource(t, &prior, &planned, &mut inner);
            let v = guarded(&mut diags, apply).instrument(span).await.flatten();
            diags.extend(inner);
            if let Some(v) = v {
                new_state = convert::encode(&v, &ty, &mut diags).or(new_state);
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
        let t = req.type_name.as_str();
        let span = rpc_span("ImportResourceState", Subject::Resource(t));
        let mut diags = Diagnostics::new();
        let mut imported_resources = Vec::new();
        if let Some(ty) = self
            .engine
            .resource_schema(t, &mut diags)
            .map(|s| s.value_type())
        {
            let mut inner = Diagnostics::new();
            let import = self.engine.import_resource(t, &req.id, &mut inner);
            let state = guarded(&mut diags, import).instrument(span).await.flatten();
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
        let req = req.into_inner();
        let t = req.type_name.as_str();
        let span = rpc_span("ReadDataSource", Subject::DataSource(t));
        let mut diags = Diagnostics::new();
        let mut state = None;
        if let Some(ty) = self
            .engine
            .data_source_schema(t, &mut diags)
            .map(|s| s.value_type())
            && let Some([config]) =
                decode_all([(req.config.as_ref(), "configuration")], &ty, &mut diags)
        {
            let mut inner = Diagnostics::new();
            let read = self.engine.read_data_source(t, &config, &mut inner);
            let v = guarded(&mut diags, read).instrument(span).await.flatten();
            diags.extend(inner);
            if let Some(v) = v {
                state = convert::encode(&v, &ty, &mut diags);
            }
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn stop(
        &self,
        _: Request<pb::stop::Request>,
    ) -> Result<Response<pb::stop::Response>, Status> {
        tracing::info!("Terraform asked to stop: cancelling in-flight operations");
        self.engine.stop();
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
        // A value of the wrong type inside an attribute points at that attribute.
        let wrong_type = pb::DynamicValue {
            msgpack: Vec::new(),
            json: br#"{"a": {"x": 1}}"#.to_vec(),
        };
        assert!(convert::decode(Some(&wrong_type), &ty, "state", &mut diags).is_none());
        assert_eq!(
            diags.0[2].path.as_ref().map(ToString::to_string).as_deref(),
            Some("a")
        );
    }
}
