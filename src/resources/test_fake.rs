//! A scripted, in-process fake of [`FlowLogApi`] for tests of resources and data sources:
//! scripted answers per call, every call recorded (method, region, id, virtual time). No
//! network, no mocking library; with paused tokio time a whole lifecycle runs in milliseconds.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::flow_logs::FlowLogApi;
use crate::alicloud::{
    ApiError, CallOptions, CreateFlowLogRequest, CreatedFlowLog, DescribeFlowLogsRequest, Error,
    FlowLog, FlowLogPage, FlowLogStatus, ModifyFlowLogRequest,
};

/// Which API call was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Describe,
    List,
    Activate,
    Deactivate,
    Create,
    Delete,
    Modify,
    Move,
    Tag,
    Untag,
}

/// One call the code under test made.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub region: String,
    pub id: String,
    /// What a change asked for (the request's fields, as `Debug` prints them); empty for reads
    /// and toggles.
    pub detail: String,
    /// When (tokio's clock: virtual under paused time).
    pub at: Instant,
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Describe: the flow log (the fake's template) with this status. Activate/deactivate: success.
    Status(&'static str),
    /// Describe: exactly this flow log.
    Found(Box<FlowLog>),
    /// Describe: an empty list (no such flow log). Activate/deactivate: success.
    Gone,
    /// Any call: an `Error::Api` with this code (message and RequestId derived from it).
    Api(&'static str),
    /// Any call: `Error::Cancelled`, as the transport returns it when the token fires.
    Cancelled,
    /// Any call: `Error::Timeout`, as the transport returns it when the deadline passes.
    Timeout,
}

/// The message the fake puts in an API error of this code.
pub fn message_for(code: &str) -> String {
    format!("The scripted API refused with {code}.")
}

/// The RequestId the fake puts in an API error of this code.
pub fn request_id_for(code: &str) -> String {
    format!("REQ-{}", code.replace('.', "-").to_ascii_uppercase())
}

/// An API error as the transport builds it from an error envelope.
pub fn api_error(code: &str) -> Error {
    Error::Api(Box::new(ApiError {
        http_status: 400,
        code: code.to_owned(),
        message: message_for(code),
        request_id: request_id_for(code),
        recommend: None,
        host_id: Some("vpc.aliyuncs.com".to_owned()),
    }))
}

/// A realistic flow log with this ID and status.
pub fn flow_log(id: &str, status: &str) -> FlowLog {
    FlowLog {
        flow_log_id: id.to_owned(),
        flow_log_name: "web-traffic".to_owned(),
        description: "captured for audits".to_owned(),
        region_id: "cn-hangzhou".to_owned(),
        status: FlowLogStatus::parse(status),
        business_status: "Normal".to_owned(),
        flow_log_deliver_status: "SUCCESS".to_owned(),
        resource_type: "VSwitch".to_owned(),
        resource_id: "vsw-bp1s8ld6y2m0dp2sp0000".to_owned(),
        traffic_type: "All".to_owned(),
        project_name: "vpc-logs".to_owned(),
        log_store_name: "flows".to_owned(),
        aggregation_interval: Some(10),
        ip_version: "IPv4".to_owned(),
        creation_time: "2024-05-01T08:00:00Z".to_owned(),
        ..FlowLog::default()
    }
}

/// Where describe answers come from.
enum Describes {
    /// One answer per describe, in order; the last one repeats forever.
    Sequence(VecDeque<Reply>),
    /// The status as a function of (virtual) time since the fake was built: each step's
    /// status holds from its offset until the next step's.
    Timeline {
        start: Instant,
        steps: Vec<(Duration, &'static str)>,
    },
}

pub struct FakeFlowLogs {
    template: FlowLog,
    describes: Mutex<Describes>,
    /// Answers to activate (first to last); success once empty.
    activates: Mutex<VecDeque<Reply>>,
    /// Answers to deactivate (first to last); success once empty.
    deactivates: Mutex<VecDeque<Reply>>,
    /// Answers to the other changes (create, delete, modify, move, tag, untag), shared, first
    /// to last; success once empty.
    changes: Mutex<VecDeque<Reply>>,
    /// What `list` filters from, unless `list_error` is set.
    listing: Vec<FlowLog>,
    list_error: Option<Reply>,
    calls: Mutex<Vec<Call>>,
}

impl FakeFlowLogs {
    /// A fake for flow log `id` whose describes answer `Inactive` until scripted otherwise.
    pub fn new(id: &str) -> Self {
        FakeFlowLogs {
            template: flow_log(id, "Inactive"),
            describes: Mutex::new(Describes::Sequence(VecDeque::from([Reply::Status(
                "Inactive",
            )]))),
            activates: Mutex::new(VecDeque::new()),
            deactivates: Mutex::new(VecDeque::new()),
            changes: Mutex::new(VecDeque::new()),
            listing: Vec::new(),
            list_error: None,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The flow log was created from Log Service (`ServiceType` "sls").
    pub fn managed(mut self) -> Self {
        self.template.service_type = "sls".to_owned();
        self
    }

    /// Describe answers in order; the last repeats.
    pub fn describes(self, replies: impl IntoIterator<Item = Reply>) -> Self {
        let q: VecDeque<Reply> = replies.into_iter().collect();
        assert!(!q.is_empty(), "script at least one describe answer");
        *self.describes.lock().unwrap() = Describes::Sequence(q);
        self
    }

    /// Describe statuses in order; the last repeats.
    pub fn statuses(self, statuses: &[&'static str]) -> Self {
        self.describes(statuses.iter().map(|s| Reply::Status(s)))
    }

    /// The status over virtual time, from now: `[(0s, "Activating"), (3s, "Active")]`.
    pub fn timeline(self, steps: &[(Duration, &'static str)]) -> Self {
        *self.describes.lock().unwrap() = Describes::Timeline {
            start: Instant::now(),
            steps: steps.to_vec(),
        };
        self
    }

    pub fn activates(self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.activates.lock().unwrap().extend(replies);
        self
    }

    pub fn deactivates(self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.deactivates.lock().unwrap().extend(replies);
        self
    }

    /// What `list` answers from (filtered by region, flow log ID, name and status).
    pub fn listing(mut self, flow_logs: Vec<FlowLog>) -> Self {
        self.listing = flow_logs;
        self
    }

    /// `list` fails with this answer.
    pub fn list_fails(mut self, reply: Reply) -> Self {
        self.list_error = Some(reply);
        self
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The methods called so far, in order.
    pub fn methods(&self) -> Vec<Method> {
        self.calls().iter().map(|c| c.method).collect()
    }

    /// How many calls of this method so far.
    pub fn count(&self, method: Method) -> usize {
        self.calls().iter().filter(|c| c.method == method).count()
    }

    /// Answers to the changes other than activate and deactivate, in order.
    pub fn changes(self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.changes.lock().unwrap().extend(replies);
        self
    }

    fn record(&self, method: Method, region: &str, id: &str) {
        self.record_change(method, region, id, String::new());
    }

    fn record_change(&self, method: Method, region: &str, id: &str, detail: String) {
        self.calls.lock().unwrap().push(Call {
            method,
            region: region.to_owned(),
            id: id.to_owned(),
            detail,
            at: Instant::now(),
        });
    }

    fn change(&self, method: Method, region: &str, id: &str, detail: String) -> Result<(), Error> {
        self.record_change(method, region, id, detail);
        self.toggle(&self.changes)
    }

    fn next_describe(&self) -> Reply {
        match &mut *self.describes.lock().unwrap() {
            Describes::Sequence(q) if q.len() > 1 => q.pop_front().unwrap(),
            Describes::Sequence(q) => q[0].clone(),
            Describes::Timeline { start, steps } => {
                let elapsed = Instant::now() - *start;
                let status = steps
                    .iter()
                    .rev()
                    .find(|(from, _)| *from <= elapsed)
                    .or(steps.first())
                    .map_or("Inactive", |(_, s)| s);
                Reply::Status(status)
            }
        }
    }

    fn toggle(&self, queue: &Mutex<VecDeque<Reply>>) -> Result<(), Error> {
        match queue.lock().unwrap().pop_front() {
            None | Some(Reply::Status(_) | Reply::Found(_) | Reply::Gone) => Ok(()),
            Some(other) => Err(failure(&other)),
        }
    }
}

/// The error an error reply stands for.
fn failure(reply: &Reply) -> Error {
    match reply {
        Reply::Api(code) => api_error(code),
        Reply::Cancelled => Error::Cancelled,
        Reply::Timeout => Error::Timeout {
            api: "VPC",
            endpoint: "https://vpc.aliyuncs.com".to_owned(),
            reason: "the deadline passed".to_owned(),
        },
        other => panic!("{other:?} is not an error reply"),
    }
}

#[async_trait]
impl FlowLogApi for FakeFlowLogs {
    async fn describe(
        &self,
        region_id: &str,
        flow_log_id: &str,
        _opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        self.record(Method::Describe, region_id, flow_log_id);
        match self.next_describe() {
            Reply::Status(status) => Ok(Some(FlowLog {
                status: FlowLogStatus::parse(status),
                ..self.template.clone()
            })),
            Reply::Found(fl) => Ok(Some(*fl)),
            Reply::Gone => Ok(None),
            other => Err(failure(&other)),
        }
    }

    async fn list(
        &self,
        req: &DescribeFlowLogsRequest,
        _opts: &CallOptions,
    ) -> Result<Vec<FlowLog>, Error> {
        self.record(
            Method::List,
            &req.region_id,
            req.flow_log_id.as_deref().unwrap_or(""),
        );
        if let Some(e) = &self.list_error {
            return Err(failure(e));
        }
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        Ok(self
            .listing
            .iter()
            .filter(|f| f.region_id == req.region_id)
            .filter(|f| matches(&req.flow_log_id, &f.flow_log_id))
            .filter(|f| matches(&req.flow_log_name, &f.flow_log_name))
            .filter(|f| req.status.as_ref().is_none_or(|s| *s == f.status))
            .cloned()
            .collect())
    }

    async fn page(
        &self,
        req: &DescribeFlowLogsRequest,
        page: u32,
        opts: &CallOptions,
    ) -> Result<FlowLogPage, Error> {
        let all = self.list(req, opts).await?;
        let size = req.page_size.unwrap_or(50).clamp(1, 50);
        let start = (page.max(1) as usize - 1) * size as usize;
        Ok(FlowLogPage {
            total_count: all.len() as u64,
            flow_logs: all.into_iter().skip(start).take(size as usize).collect(),
            page_size: size,
        })
    }

    async fn activate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.record(Method::Activate, region_id, flow_log_id);
        self.toggle(&self.activates)
    }

    async fn deactivate(
        &self,
        region_id: &str,
        flow_log_id: &str,
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.record(Method::Deactivate, region_id, flow_log_id);
        self.toggle(&self.deactivates)
    }

    async fn create(
        &self,
        req: &CreateFlowLogRequest,
        _opts: &CallOptions,
    ) -> Result<CreatedFlowLog, Error> {
        let id = self.template.flow_log_id.clone();
        self.change(Method::Create, &req.region_id, &id, format!("{req:?}"))?;
        Ok(CreatedFlowLog {
            flow_log_id: id,
            request_id: "REQ-CREATE".to_owned(),
        })
    }

    async fn delete(
        &self,
        region_id: &str,
        flow_log_id: &str,
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.change(Method::Delete, region_id, flow_log_id, String::new())
    }

    async fn modify(&self, req: &ModifyFlowLogRequest, _opts: &CallOptions) -> Result<(), Error> {
        self.change(
            Method::Modify,
            &req.region_id,
            &req.flow_log_id,
            format!("{req:?}"),
        )
    }

    async fn move_resource_group(
        &self,
        region_id: &str,
        flow_log_id: &str,
        resource_group_id: &str,
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.change(
            Method::Move,
            region_id,
            flow_log_id,
            resource_group_id.to_owned(),
        )
    }

    async fn tag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        tags: &[(String, String)],
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.change(Method::Tag, region_id, flow_log_id, format!("{tags:?}"))
    }

    async fn untag(
        &self,
        region_id: &str,
        flow_log_id: &str,
        keys: &[String],
        _opts: &CallOptions,
    ) -> Result<(), Error> {
        self.change(Method::Untag, region_id, flow_log_id, format!("{keys:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CallOptions {
        CallOptions {
            deadline: None,
            cancel: Default::default(),
        }
    }

    #[tokio::test]
    async fn sequence_repeats_its_last_answer_and_records_calls() {
        let fake = FakeFlowLogs::new("fl-a1").describes([
            Reply::Status("Activating"),
            Reply::Api("Throttling"),
            Reply::Status("Active"),
        ]);
        let o = opts();
        let s = |r: Result<Option<FlowLog>, Error>| r.map(|f| f.map(|f| f.status));
        assert_eq!(
            s(fake.describe("cn-x", "fl-a1", &o).await).unwrap(),
            Some("Activating".into())
        );
        let e = fake.describe("cn-x", "fl-a1", &o).await.unwrap_err();
        assert_eq!(e.code(), Some("Throttling"));
        assert_eq!(e.request_id(), Some("REQ-THROTTLING"));
        for _ in 0..3 {
            assert_eq!(
                s(fake.describe("cn-x", "fl-a1", &o).await).unwrap(),
                Some("Active".into())
            );
        }
        assert!(fake.activate("cn-x", "fl-a1", &o).await.is_ok());
        let exact = FakeFlowLogs::new("fl-a1")
            .describes([Reply::Found(Box::new(flow_log("fl-a1", "Active")))]);
        let got = exact.describe("cn-x", "fl-a1", &o).await.unwrap();
        assert_eq!(got, Some(flow_log("fl-a1", "Active")));
        assert_eq!(fake.count(Method::Describe), 5);
        let last = fake.calls().pop().unwrap();
        assert_eq!(
            (last.method, last.region.as_str(), last.id.as_str()),
            (Method::Activate, "cn-x", "fl-a1")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn timeline_follows_virtual_time() {
        let fake = FakeFlowLogs::new("fl-a1").timeline(&[
            (Duration::ZERO, "Activating"),
            (Duration::from_secs(2), "Active"),
        ]);
        let o = opts();
        let status = || async {
            fake.describe("r-1", "fl-a1", &o)
                .await
                .unwrap()
                .unwrap()
                .status
        };
        assert_eq!(status().await, FlowLogStatus::Activating);
        tokio::time::sleep(Duration::from_millis(1999)).await;
        assert_eq!(status().await, FlowLogStatus::Activating);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(status().await, FlowLogStatus::Active);
    }

    #[tokio::test]
    async fn list_filters_and_fails_as_scripted() {
        let mut other_region = flow_log("fl-b2", "Active");
        other_region.region_id = "cn-beijing".into();
        let fake = FakeFlowLogs::new("fl-a1").listing(vec![
            flow_log("fl-a1", "Active"),
            flow_log("fl-a2", "Inactive"),
            other_region,
        ]);
        let req = DescribeFlowLogsRequest {
            region_id: "cn-hangzhou".into(),
            status: Some("Active".into()),
            ..Default::default()
        };
        let got = fake.list(&req, &opts()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].flow_log_id, "fl-a1");
        let failing = FakeFlowLogs::new("fl-a1").list_fails(Reply::Api("InvalidRegionId.NotFound"));
        let e = failing.list(&req, &opts()).await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidRegionId.NotFound"));
        assert_eq!(failing.methods(), [Method::List]);
    }
}
