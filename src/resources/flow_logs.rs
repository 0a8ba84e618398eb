//! The narrow view of the VPC API that flow-log resources and data sources need. The shared
//! client implements it; tests script a fake, so lifecycle rules run in-process in
//! milliseconds.

use async_trait::async_trait;

use crate::alicloud::{CallOptions, Client, DescribeFlowLogsRequest, Error, FlowLog};

#[async_trait]
pub trait FlowLogApi: Send + Sync {
    /// One flow log; `None` when the region has no such flow log.
    async fn describe(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error>;
    /// Every flow log matching the filters, all pages.
    async fn list(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<Vec<FlowLog>, Error>;
    /// `ActiveFlowLog`: asks the API to start it (asynchronous).
    async fn activate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error>;
    /// `DeactiveFlowLog`: asks the API to stop it (asynchronous).
    async fn deactivate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error>;
}

#[async_trait]
impl FlowLogApi for Client {
    async fn describe(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        self.describe_flow_log(region_id, flow_log_id, opts).await
    }

    async fn list(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<Vec<FlowLog>, Error> {
        self.describe_flow_logs(req, opts).await
    }

    async fn activate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.active_flow_log(region_id, flow_log_id, opts)
            .await
            .map(drop)
    }

    async fn deactivate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.deactive_flow_log(region_id, flow_log_id, opts)
            .await
            .map(drop)
    }
}
