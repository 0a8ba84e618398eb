//! go-plugin's `GRPCController`: Terraform's goodbye. Answering and exiting at once spares
//! every plugin start go-plugin's 2 s grace period before it kills us.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

mod pb {
    tonic::include_proto!("plugin");
}

pub use pb::grpc_controller_server::GrpcControllerServer as ControllerServer;

pub struct Controller {
    shutdown: CancellationToken,
    debug: bool,
}

impl Controller {
    pub fn new(shutdown: CancellationToken, debug: bool) -> Self {
        Controller { shutdown, debug }
    }
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        // A debug-mode provider outlives the Terraform runs attached to it.
        if !self.debug {
            tracing::debug!("Terraform asked us to shut down");
            self.shutdown.cancel();
        }
        Ok(Response::new(pb::Empty {}))
    }
}
