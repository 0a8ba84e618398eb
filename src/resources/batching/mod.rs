//! Many operations, few API calls: [`Batched`] wraps the VPC API so the operations of one
//! provider process share what they learn. Reads in a region are served from one listing of
//! the region once describing them one by one would cost more than listing it (`reads`), and
//! waits on a transitional status share one listing of the flow logs in that status per round
//! (`watch`). Each listing is made during the command that uses it; changes always go to the
//! API, and a single operation costs what it did alone. Batching changes the cost, never the
//! answer: every answer is what the API said about that flow log, within the caller's own
//! deadline and cancellation, and a listing refused for permission turns batching off
//! (`listings`). A listing of a whole region made for the data source serves the reads of both
//! resources too. Listings are shared with the machine's other provider processes as well
//! ([`FlowLogApi::machine_listing`]): one serves another process's operations only when it
//! started after what they need to know.

mod listings;
mod reads;
mod watch;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::flow_logs::{FlowLogApi, Seen};
use crate::alicloud::vpc::VPC;
use crate::alicloud::{
    CallOptions, CreateFlowLogRequest, CreatedFlowLog, DescribeFlowLogsRequest, Error, FlowLog,
    FlowLogPage, FlowLogStatus, ModifyFlowLogRequest,
};
use listings::Listings;
use reads::RegionReads;
use watch::{Mode, Watch};

pub struct Batched {
    inner: Arc<dyn FlowLogApi>,
    listings: Arc<Listings>,
    reads: Mutex<HashMap<String, Arc<RegionReads>>>,
    watches: Mutex<HashMap<(String, FlowLogStatus), Arc<Watch>>>,
    /// When this process began its work: the reads take the machine's listings made since.
    began: tokio::time::Instant,
}

impl Batched {
    pub fn new(inner: Arc<dyn FlowLogApi>) -> Self {
        Batched {
            inner,
            listings: Arc::new(Listings::default()),
            reads: Mutex::new(HashMap::new()),
            watches: Mutex::new(HashMap::new()),
            began: tokio::time::Instant::now(),
        }
    }

    fn region_reads(&self, region: &str) -> Arc<RegionReads> {
        let mut map = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(region.to_owned())
            .or_insert_with(|| {
                Arc::new(RegionReads::new(region, self.listings.clone(), self.began))
            })
            .clone()
    }

    fn watch(&self, region: &str, status: &FlowLogStatus) -> Arc<Watch> {
        let mut map = self.watches.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((region.to_owned(), status.clone()))
            .or_insert_with(|| Arc::new(Watch::new(region, status.clone(), self.listings.clone())))
            .clone()
    }
}

#[async_trait]
impl FlowLogApi for Batched {
    async fn describe(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        self.inner.describe(region_id, flow_log_id, opts).await
    }

    async fn list(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<Vec<FlowLog>, Error> {
        let at = tokio::time::Instant::now();
        let all = self.inner.list(req, opts).await?;
        // A listing of the whole region (the data source without filters) is what the reads of
        // the resources would list: one listing serves both.
        let whole_region = *req
            == DescribeFlowLogsRequest {
                region_id: req.region_id.clone(),
                page_size: req.page_size,
                ..Default::default()
            };
        if whole_region {
            self.region_reads(&req.region_id)
                .offer(at, all.clone())
                .await;
        }
        Ok(all)
    }

    async fn machine_listing(
        &self,
        req: &DescribeFlowLogsRequest,
        since: tokio::time::Instant,
    ) -> Option<(Vec<FlowLog>, tokio::time::Instant)> {
        self.inner.machine_listing(req, since).await
    }

    async fn api_rate(&self, region_id: &str) -> Option<f64> {
        self.inner.api_rate(region_id).await
    }

    async fn machine_listing_stored(
        &self,
        req: &DescribeFlowLogsRequest,
        since: tokio::time::Instant,
    ) -> bool {
        self.inner.machine_listing_stored(req, since).await
    }

    async fn machine_demand(
        &self,
        req: &DescribeFlowLogsRequest,
        mine: crate::alicloud::Demand,
    ) -> Option<crate::alicloud::MachineDemand> {
        self.inner.machine_demand(req, mine).await
    }

    async fn listing_claimed(
        &self,
        req: &DescribeFlowLogsRequest,
        claim: bool,
        since: tokio::time::Instant,
    ) -> bool {
        self.inner.listing_claimed(req, claim, since).await
    }

    async fn rent_describe(&self, req: &DescribeFlowLogsRequest, price: u64) -> Option<bool> {
        self.inner.rent_describe(req, price).await
    }

    async fn list_for_machine(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<(Vec<FlowLog>, tokio::time::Instant), Error> {
        self.inner.list_for_machine(req, opts).await
    }

    async fn page(
        &self,
        req: &DescribeFlowLogsRequest,
        page: u32,
        opts: &CallOptions,
    ) -> Result<FlowLogPage, Error> {
        self.inner.page(req, page, opts).await
    }

    async fn activate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner.activate(region_id, flow_log_id, opts).await
    }

    async fn deactivate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner.deactivate(region_id, flow_log_id, opts).await
    }

    async fn create(
        &self,
        req: &CreateFlowLogRequest,
        opts: &CallOptions,
    ) -> Result<CreatedFlowLog, Error> {
        self.inner.create(req, opts).await
    }

    async fn delete(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner.delete(region_id, flow_log_id, opts).await
    }

    async fn modify(&self, req: &ModifyFlowLogRequest, opts: &CallOptions) -> Result<(), Error> {
        self.inner.modify(req, opts).await
    }

    async fn move_resource_group(
        &self,
        region_id: &str,
        flow_log_id: &str,
        resource_group_id: &str,
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner
            .move_resource_group(region_id, flow_log_id, resource_group_id, opts)
            .await
    }

    async fn tag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        tags: &[(String, String)],
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner.tag(region_id, flow_log_id, tags, opts).await
    }

    async fn untag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        keys: &[String],
        opts: &CallOptions,
    ) -> Result<(), Error> {
        self.inner.untag(region_id, flow_log_id, keys, opts).await
    }

    async fn read(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<Seen>, Error> {
        let reads = self.region_reads(region_id);
        opts.bound(VPC.name, reads.read(self.inner.as_ref(), flow_log_id, opts))
            .await
    }

    async fn look(
        &self,
        region_id: &str,
        flow_log_id: &str,
        expect: &FlowLogStatus,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        self.watch(region_id, expect)
            .wait(self.inner.clone(), flow_log_id, Mode::Look, opts)
            .await
    }

    async fn wait_while(
        &self,
        region_id: &str,
        flow_log_id: &str,
        last: &FlowLog,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        // A status the API does not know to list by (or this provider does not know at all)
        // is waited out by describing the flow log.
        if matches!(
            last.status,
            FlowLogStatus::Other(_) | FlowLogStatus::Unknown
        ) {
            return self
                .inner
                .wait_while(region_id, flow_log_id, last, opts)
                .await;
        }
        self.watch(region_id, &last.status)
            .wait(
                self.inner.clone(),
                flow_log_id,
                Mode::While(Box::new(last.clone())),
                opts,
            )
            .await
    }
}

/// Pages a listing of `total` flow logs takes at the API's largest page.
fn pages_for(total: u64) -> u64 {
    total
        .div_ceil(u64::from(crate::alicloud::vpc::MAX_PAGE_SIZE))
        .max(1)
}
