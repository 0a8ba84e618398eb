//! The narrow view of the VPC API that flow-log resources and data sources need. The shared
//! client implements it (wrapped by `batching`, which shares listings between concurrent
//! operations); tests script a fake, so lifecycle rules run in-process in milliseconds. The
//! lifecycle both resources drive on it is in [`lifecycle`] (statuses) and [`changes`]
//! (creation, modification, deletion).

pub mod changes;
pub mod lifecycle;

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::alicloud::{
    CallOptions, Client, CreateFlowLogRequest, CreatedFlowLog, Demand, DescribeFlowLogsRequest,
    Error, FlowLog, FlowLogPage, FlowLogStatus, MachineDemand, ModifyFlowLogRequest,
};

/// First look right away, then back off to this: a wait notices a change within about this
/// long.
pub const POLL_FIRST: Duration = Duration::from_millis(50);
pub const POLL_MAX: Duration = Duration::from_millis(400);

/// A description, and how long ago the API gave it (a shared listing may be older than the
/// call asking for it).
#[derive(Clone, Debug)]
pub struct Seen {
    pub flow_log: FlowLog,
    pub age: Duration,
}

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
    /// A listing with these filters that another provider process of this machine (same
    /// account, region and endpoint) made and shared, if one started after `since`; with when
    /// it started. `None` when there is none, or nothing is shared.
    async fn machine_listing(
        &self,
        _req: &DescribeFlowLogsRequest,
        _since: Instant,
    ) -> Option<(Vec<FlowLog>, Instant)> {
        None
    }
    /// The rate the API's calls in the region may go at now (requests per second), while calls
    /// queue at a rate limiter: a wait's listings then take no more than their share of it.
    async fn api_rate(&self, _region_id: &str) -> Option<f64> {
        None
    }
    /// Whether [`FlowLogApi::machine_listing`] would answer a listing (cheaper: nothing copied).
    async fn machine_listing_stored(
        &self,
        _req: &DescribeFlowLogsRequest,
        _since: Instant,
    ) -> bool {
        false
    }
    /// Publishes this process's demand for listings with these filters to the machine's
    /// other provider processes (same account, region and endpoint) and answers the
    /// machine's, this process's included. `None` when nothing is shared.
    async fn machine_demand(
        &self,
        _req: &DescribeFlowLogsRequest,
        _mine: Demand,
    ) -> Option<MachineDemand> {
        None
    }
    /// Whether another provider process of the machine is making the listing with these
    /// filters (and will share it), having started it after `since`; when none is and `claim`
    /// is set, this process claims it. `false` when nothing is shared.
    async fn listing_claimed(
        &self,
        _req: &DescribeFlowLogsRequest,
        _claim: bool,
        _since: Instant,
    ) -> bool {
        false
    }
    /// Whether a read may describe its flow log rather than list with these filters (a
    /// listing of `price` pages), as far as the machine's other provider processes' reads
    /// tell: they rent describes together. `None` when nothing is shared.
    async fn rent_describe(&self, _req: &DescribeFlowLogsRequest, _price: u64) -> Option<bool> {
        None
    }
    /// Every flow log matching the filters, all pages, shared with the machine's other
    /// provider processes; with when the listing started.
    async fn list_for_machine(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<(Vec<FlowLog>, Instant), Error> {
        let started = Instant::now();
        Ok((self.list(req, opts).await?, started))
    }
    /// One page of the flow logs matching the filters (`page` from 1) and the total count.
    async fn page(
        &self,
        req: &DescribeFlowLogsRequest,
        page: u32,
        opts: &CallOptions,
    ) -> Result<FlowLogPage, Error>;

    /// One flow log as seen during this command: an implementation may answer from a listing
    /// of the region it made for other operations of this process (see [`Seen::age`]).
    async fn read(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<Seen>, Error> {
        Ok(self
            .describe(region_id, flow_log_id, opts)
            .await?
            .map(|flow_log| Seen {
                flow_log,
                age: Duration::ZERO,
            }))
    }

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

    /// `CreateFlowLog` (asynchronous: the flow log is `Activating`, then `Active`).
    async fn create(
        &self,
        req: &CreateFlowLogRequest,
        opts: &CallOptions,
    ) -> Result<CreatedFlowLog, Error>;
    /// `DeleteFlowLog` (asynchronous: `Deleting`, then gone).
    async fn delete(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error>;
    /// `ModifyFlowLogAttribute` (asynchronous: `Modifying`, then back where it was).
    async fn modify(&self, req: &ModifyFlowLogRequest, opts: &CallOptions) -> Result<(), Error>;
    /// `MoveResourceGroup` of a flow log.
    async fn move_resource_group(
        &self,
        region_id: &str,
        flow_log_id: &str,
        resource_group_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error>;
    /// `TagResources` of a flow log: these keys get these values.
    async fn tag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        tags: &[(String, String)],
        opts: &CallOptions,
    ) -> Result<(), Error>;
    /// `UnTagResources` of a flow log: these keys go.
    async fn untag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        keys: &[String],
        opts: &CallOptions,
    ) -> Result<(), Error>;

    /// One flow log right after a change was asked for, when it is expected in the
    /// transitional `expect` status: an implementation may answer from a listing of the flow
    /// logs in that status made for this very moment. Every answer is what the API said about
    /// this flow log.
    async fn look(
        &self,
        region_id: &str,
        flow_log_id: &str,
        expect: &FlowLogStatus,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        let _ = expect;
        self.describe(region_id, flow_log_id, opts).await
    }

    /// Waits while the flow log is in the transitional status it was `last` seen in and
    /// returns the first description the API gave of it in another status (`None`: the API
    /// said it is gone). Never inferred: a flow log that left the status is described (or found
    /// in a listing of where it went) before the wait answers. Implementations stop at the
    /// options' deadline or cancellation; callers may also drop the future.
    async fn wait_while(
        &self,
        region_id: &str,
        flow_log_id: &str,
        last: &FlowLog,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        let mut interval = POLL_FIRST;
        loop {
            tokio::time::sleep_until(Instant::now() + interval).await;
            interval = (interval * 2).min(POLL_MAX);
            match self.describe(region_id, flow_log_id, opts).await? {
                Some(fl) if fl.status == last.status => {}
                other => return Ok(other),
            }
        }
    }
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

    async fn machine_listing(
        &self,
        req: &DescribeFlowLogsRequest,
        since: Instant,
    ) -> Option<(Vec<FlowLog>, Instant)> {
        let listing = Client::machine_listing(self, req, self.wall_of(since)).await?;
        Some((listing.flow_logs, self.instant_of(listing.started)))
    }

    async fn machine_demand(
        &self,
        req: &DescribeFlowLogsRequest,
        mine: Demand,
    ) -> Option<MachineDemand> {
        Client::machine_demand(self, req, mine).await
    }

    async fn api_rate(&self, region_id: &str) -> Option<f64> {
        self.vpc_rate(region_id).await
    }

    async fn machine_listing_stored(&self, req: &DescribeFlowLogsRequest, since: Instant) -> bool {
        Client::machine_listing_stored(self, req, self.wall_of(since)).await
    }

    async fn listing_claimed(
        &self,
        req: &DescribeFlowLogsRequest,
        claim: bool,
        since: Instant,
    ) -> bool {
        Client::listing_claimed(self, req, claim, self.wall_of(since)).await
    }

    async fn rent_describe(&self, req: &DescribeFlowLogsRequest, price: u64) -> Option<bool> {
        Client::rent_describe(self, req, price).await
    }
    async fn list_for_machine(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<(Vec<FlowLog>, Instant), Error> {
        let listing = self.describe_flow_logs_for_machine(req, opts).await?;
        Ok((listing.flow_logs, self.instant_of(listing.started)))
    }

    async fn page(
        &self,
        req: &DescribeFlowLogsRequest,
        page: u32,
        opts: &CallOptions,
    ) -> Result<FlowLogPage, Error> {
        self.describe_flow_logs_page(req, page, opts).await
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

    async fn create(
        &self,
        req: &CreateFlowLogRequest,
        opts: &CallOptions,
    ) -> Result<CreatedFlowLog, Error> {
        self.create_flow_log(req, opts).await
    }

    async fn delete(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.delete_flow_log(region_id, flow_log_id, opts)
            .await
            .map(drop)
    }

    async fn modify(&self, req: &ModifyFlowLogRequest, opts: &CallOptions) -> Result<(), Error> {
        self.modify_flow_log_attribute(req, opts).await.map(drop)
    }

    async fn move_resource_group(
        &self,
        region_id: &str,
        flow_log_id: &str,
        resource_group_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.move_flow_log_resource_group(region_id, flow_log_id, resource_group_id, opts)
            .await
            .map(drop)
    }

    async fn tag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        tags: &[(String, String)],
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.tag_flow_log(region_id, flow_log_id, tags, opts)
            .await
            .map(drop)
    }

    async fn untag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        keys: &[String],
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.untag_flow_log(region_id, flow_log_id, keys, opts)
            .await
            .map(drop)
    }
}
