//! The flow log's lifecycle against the VPC API, shared by every flow-log resource: make it
//! active or inactive and confirm it (`converge`), wait out a transitional status, read it for
//! a refresh, and the diagnostics for each way an operation can end.

use std::time::Duration;

use tokio::time::Instant;

use crate::alicloud::{CallOptions, Error, FlowLog, FlowLogStatus};
use crate::diag::{AttrPath, Diagnostics};
use crate::resources::flow_logs::{FlowLogApi, POLL_FIRST, POLL_MAX};

/// A shared listing older than this is not trusted to say a flow log is already where an
/// operation wants it: the operation looks again before skipping its call.
const TRUST_LISTING_FOR: Duration = Duration::from_secs(2);

/// Where one flow log lives.
pub struct Target<'a> {
    pub region: &'a str,
    pub id: &'a str,
}

/// Why an operation stopped without reaching its goal.
pub enum Failure {
    /// The API refused or could not be reached.
    Api(Error),
    /// No such flow log in the region.
    NotFound,
    /// The API accepted the change, then the flow log went back where it was (an activation
    /// that failed in the background ends `Inactive`): the description that showed it.
    Reverted(Box<FlowLog>),
    /// The API accepted the change, then said there is no such flow log any more.
    Deleted,
    /// The API accepted a deletion, then showed the flow log out of `Deleting` and still
    /// there: the description that showed it.
    NotDeleted(Box<FlowLog>),
    /// Created from Log Service: the VPC API cannot start or stop it.
    ManagedByLogService,
    /// The deadline passed while waiting (last description attached).
    TimedOut(Option<Box<FlowLog>>),
    Cancelled(Option<Box<FlowLog>>),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e {
            Error::Cancelled => Failure::Cancelled(None),
            e => Failure::Api(e),
        }
    }
}

pub struct Outcome {
    /// The last description seen, if any.
    pub last_seen: Option<FlowLog>,
    /// Whether we asked the API to change the flow log (so it may now differ from before).
    pub changed: bool,
    /// The API accepted a deactivation, then said the flow log no longer exists: the goal
    /// holds, but not by our doing.
    pub vanished: bool,
    pub result: Result<(), Failure>,
}

fn is_status_conflict(e: &Error) -> bool {
    e.code()
        .is_some_and(|c| c.starts_with("IncorrectStatus") || c == "InvalidStatus")
}

/// Sleeps for the next poll interval unless the deadline or a cancellation comes first.
pub(crate) async fn pause(interval: &mut Duration, opts: &CallOptions) -> Result<(), bool> {
    let wake = Instant::now() + *interval;
    *interval = (*interval * 2).min(POLL_MAX);
    if let Some(deadline) = opts.deadline
        && wake >= deadline
    {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return Err(false),
            _ = opts.cancel.cancelled() => return Err(true),
        }
    }
    tokio::select! {
        _ = tokio::time::sleep_until(wake) => Ok(()),
        _ = opts.cancel.cancelled() => Err(true),
    }
}

/// Waits until the flow log leaves the busy status `seen` showed (a transition, a
/// modification or a deletion), within the options' deadline; `Failure::NotFound` when the API
/// then says it is gone.
pub(crate) async fn settle(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    seen: FlowLog,
    opts: &CallOptions,
) -> Result<FlowLog, Failure> {
    let last = || Some(Box::new(seen.clone()));
    let deadline = async {
        match opts.deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    debug_assert!(seen.status.is_busy());
    let wait = api.wait_while(t.region, t.id, &seen, opts);
    tokio::select! {
        biased;
        _ = opts.cancel.cancelled() => Err(Failure::Cancelled(last())),
        r = wait => match r {
            Ok(Some(fl)) => Ok(fl),
            Ok(None) => Err(Failure::NotFound),
            Err(Error::Cancelled) => Err(Failure::Cancelled(last())),
            Err(e) if matches!(e, Error::Timeout { .. }) && deadline_passed(opts) => {
                Err(Failure::TimedOut(last()))
            }
            Err(e) => Err(Failure::Api(e)),
        },
        _ = deadline => Err(Failure::TimedOut(last())),
    }
}

fn deadline_passed(opts: &CallOptions) -> bool {
    opts.deadline.is_some_and(|d| Instant::now() >= d)
}

/// The status an operation drives a flow log to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    Active,
    Inactive,
}

impl Goal {
    fn status(self) -> FlowLogStatus {
        match self {
            Goal::Active => FlowLogStatus::Active,
            Goal::Inactive => FlowLogStatus::Inactive,
        }
    }

    /// The transitional status on the way to the goal.
    fn on_the_way(self) -> FlowLogStatus {
        match self {
            Goal::Active => FlowLogStatus::Activating,
            Goal::Inactive => FlowLogStatus::Deactivating,
        }
    }

    /// Where the flow log was when the change was asked for, and goes back to if it fails.
    fn from(self) -> FlowLogStatus {
        match self {
            Goal::Active => FlowLogStatus::Inactive,
            Goal::Inactive => FlowLogStatus::Active,
        }
    }

    /// A flow log that does not exist is as inactive as it gets, but cannot be activated.
    fn when_gone(self) -> Result<(), Failure> {
        match self {
            Goal::Active => Err(Failure::NotFound),
            Goal::Inactive => Ok(()),
        }
    }
}

impl Outcome {
    /// The API accepted our change, then said there is no such flow log: an activation has
    /// nothing left to activate; a deactivation's goal holds.
    fn gone_after_change(mut self, goal: Goal) -> Outcome {
        self.last_seen = None;
        match goal {
            Goal::Active => self.finish(Err(Failure::Deleted)),
            Goal::Inactive => {
                self.vanished = true;
                self.finish(Ok(()))
            }
        }
    }

    fn finish(mut self, result: Result<(), Failure>) -> Outcome {
        if let Err(Failure::TimedOut(Some(fl)) | Failure::Cancelled(Some(fl))) = &result {
            self.last_seen = Some((**fl).clone());
        }
        self.result = result;
        self
    }
}

/// How long a flow log may still show the status it had when the API accepted a change
/// before that counts as the change not taking: the API may take a moment to show it under
/// way.
pub(crate) const START_GRACE: Duration = Duration::from_secs(2);

/// Drives the flow log to `goal`: nothing to do if it is there, wait if it is on its way,
/// otherwise make the call (`ActiveFlowLog` / `DeactiveFlowLog`), look right away and wait. A
/// status conflict means "look again", not failure; an opposite transition is waited out first.
/// A change the API accepted ends only on what the API then said about the flow log: the goal
/// reached, back where it was ([`Failure::Reverted`]), or gone.
pub async fn converge(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    goal: Goal,
    opts: &CallOptions,
) -> Outcome {
    let mut out = Outcome {
        last_seen: None,
        changed: false,
        vanished: false,
        result: Ok(()),
    };
    // Bounded: each round either finishes or follows a real status change. Rounds that only
    // met a status conflict wait first and are bounded by the deadline (when there is one).
    let mut conflict_wait = POLL_FIRST;
    let mut rounds = 0;
    while rounds < 20 {
        rounds += 1;
        // The first look may come from a listing shared with other operations of this command;
        // every later look is the API's answer now.
        let look = if rounds == 1 {
            first_look(api, t, goal, opts).await
        } else {
            api.describe(t.region, t.id, opts).await
        };
        let fl = match look {
            Ok(Some(fl)) => fl,
            Ok(None) => return out.finish(goal.when_gone()),
            Err(e) => return out.finish(Err(e.into())),
        };
        out.last_seen = Some(fl.clone());
        let managed = fl.service_type.eq_ignore_ascii_case("sls");
        // Refused outright, even when already on: this resource could never keep it on.
        if managed && goal == Goal::Active {
            return out.finish(Err(Failure::ManagedByLogService));
        }
        if fl.status == goal.status() {
            return out;
        }
        // Whether this round asked for the change (then its failure is ours to report).
        let mut asked = false;
        let fl = if fl.status.is_transitional() {
            fl
        } else if managed {
            return out.finish(Err(Failure::ManagedByLogService));
        } else {
            let call = match goal {
                Goal::Active => api.activate(t.region, t.id, opts).await,
                Goal::Inactive => api.deactivate(t.region, t.id, opts).await,
            };
            match call {
                Ok(_) => {
                    out.changed = true;
                    asked = true;
                }
                Err(e) if is_status_conflict(&e) => {
                    // The flow log is busy (changed moments ago, or by someone else): wait
                    // before looking again instead of asking again at once.
                    if let Err(cancelled) = pause(&mut conflict_wait, opts).await {
                        let last = out.last_seen.clone().map(Box::new);
                        return out.finish(Err(if cancelled {
                            Failure::Cancelled(last)
                        } else {
                            Failure::TimedOut(last)
                        }));
                    }
                    if opts.deadline.is_some() {
                        rounds -= 1;
                    }
                    continue;
                }
                Err(e) if e.code() == Some("InvalidInstanceId.NotFound") => {
                    return out.finish(goal.when_gone());
                }
                Err(e) => return out.finish(Err(e.into())),
            }
            // Look right away: with a fast API the change is already done.
            match api.look(t.region, t.id, &goal.on_the_way(), opts).await {
                Ok(Some(now)) => now,
                Ok(None) => return out.gone_after_change(goal),
                Err(e) => return out.finish(Err(e.into())),
            }
        };
        out.last_seen = Some(fl.clone());
        let fl = if asked && fl.status == goal.from() {
            match confirm_start(api, t, fl, opts).await {
                Ok(Some(fl)) => fl,
                Ok(None) => return out.gone_after_change(goal),
                Err(f) => return out.finish(Err(f)),
            }
        } else {
            fl
        };
        out.last_seen = Some(fl.clone());
        let settled = if fl.status.is_transitional() {
            settle(api, t, fl, opts).await
        } else {
            Ok(fl)
        };
        match settled {
            Ok(fl) => {
                out.last_seen = Some(fl.clone());
                if fl.status == goal.status() {
                    return out;
                }
                if asked && fl.status == goal.from() {
                    return out.finish(Err(Failure::Reverted(Box::new(fl))));
                }
                // Someone else's change ended elsewhere, or another one started: look again.
            }
            Err(Failure::NotFound) if asked => return out.gone_after_change(goal),
            Err(Failure::NotFound) => return out.finish(goal.when_gone()),
            Err(f) => return out.finish(Err(f)),
        }
    }
    let last = out.last_seen.clone().map(Box::new);
    out.finish(Err(Failure::TimedOut(last)))
}

/// Right after a change the API accepted, the flow log still shows where it was: look again
/// for a moment (the change may not show yet) and answer what the API then says.
async fn confirm_start(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    mut fl: FlowLog,
    opts: &CallOptions,
) -> Result<Option<FlowLog>, Failure> {
    let until = Instant::now() + START_GRACE;
    let mut interval = POLL_FIRST;
    while Instant::now() < until {
        if let Err(cancelled) = pause(&mut interval, opts).await {
            let last = Some(Box::new(fl));
            return Err(if cancelled {
                Failure::Cancelled(last)
            } else {
                Failure::TimedOut(last)
            });
        }
        match api.describe(t.region, t.id, opts).await? {
            Some(now) if now.status == fl.status => fl = now,
            other => return Ok(other),
        }
    }
    Ok(Some(fl))
}

/// The first look of an operation: possibly from a shared listing, but a listing too old to
/// trust for "already there" is confirmed by asking the API.
async fn first_look(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    goal: Goal,
    opts: &CallOptions,
) -> Result<Option<FlowLog>, Error> {
    match api.read(t.region, t.id, opts).await? {
        Some(seen) if seen.flow_log.status == goal.status() && seen.age > TRUST_LISTING_FOR => {
            api.describe(t.region, t.id, opts).await
        }
        other => Ok(other.map(|s| s.flow_log)),
    }
}

/// Reads the flow log for a refresh (possibly from a listing of the region made during this
/// command), waiting out a transitional status within the options' deadline.
pub async fn describe_settled(
    api: &dyn FlowLogApi,
    t: &Target<'_>,
    opts: &CallOptions,
) -> Result<Option<FlowLog>, Failure> {
    let Some(fl) = api.read(t.region, t.id, opts).await?.map(|s| s.flow_log) else {
        return Ok(None);
    };
    if !fl.status.is_transitional() {
        return Ok(Some(fl));
    }
    match settle(api, t, fl, opts).await {
        Ok(fl) => Ok(Some(fl)),
        // A refresh that cannot wait longer reports what it saw.
        Err(Failure::TimedOut(Some(fl))) => Ok(Some(*fl)),
        Err(Failure::NotFound) => Ok(None),
        Err(f) => Err(f),
    }
}

/// An API error as a diagnostic, on the attribute it concerns where there is one.
pub fn api_error(diags: &mut Diagnostics, summary: &str, e: &Error) {
    let path = match e.code() {
        Some(c) if c.starts_with("InvalidRegionId") => Some(AttrPath::attr("region_id")),
        Some(c)
            if c.starts_with("InvalidInstanceId")
                || c.contains("FlowLog")
                || c.contains("flowlog") =>
        {
            Some(AttrPath::attr("flow_log_id"))
        }
        _ => None,
    };
    let detail = e.to_string();
    match path {
        Some(p) => diags.attr_error(p, summary, detail),
        None => diags.error(summary, detail),
    }
}

/// Adds the diagnostic for an operation that did not reach its goal.
pub fn report(out: &Outcome, t: &Target<'_>, verb: &str, operation: &str, diags: &mut Diagnostics) {
    if let Err(f) = &out.result {
        report_failure(f, t, verb, operation, diags);
    }
}

pub fn report_failure(
    f: &Failure,
    t: &Target<'_>,
    verb: &str,
    operation: &str,
    diags: &mut Diagnostics,
) {
    let (id, region) = (t.id, t.region);
    let status = |last: &Option<Box<FlowLog>>| {
        last.as_ref()
            .map_or_else(|| "unknown".to_owned(), |fl| fl.status.to_string())
    };
    match f {
        Failure::NotFound => diags.attr_error(
            AttrPath::attr("flow_log_id"),
            "Flow log not found",
            format!(
                "There is no flow log {id} in region {region}. Check flow_log_id, and region_id or the provider's region."
            ),
        ),
        Failure::ManagedByLogService => diags.attr_error(
            AttrPath::attr("flow_log_id"),
            "Flow log is managed by Log Service",
            format!(
                "Flow log {id} was created from the Log Service console (ServiceType \"sls\"): it is started and stopped from Log Service, not through the VPC API, so this resource cannot {verb} it."
            ),
        ),
        Failure::Reverted(fl) => {
            let moving = FlowLogStatus::DOCUMENTED
                .into_iter()
                .find(|s| s.falls_back_to().as_ref() == Some(&fl.status))
                .map_or_else(|| "changing".to_owned(), |s| s.to_string());
            let answer = if fl.request_id.is_empty() {
                String::new()
            } else {
                format!(" (DescribeFlowLogs RequestId: {})", fl.request_id)
            };
            diags.error(
                format!("Could not {verb} flow log {id}: it went back to {}", fl.status),
                format!(
                    "The API accepted the request, then flow log {id} in {region} went from {moving} back to {}{answer}. A change fails in the background when the flow log cannot deliver, for example when its Log Service project or logstore is missing or unusable. Terraform keeps it in state as {}; fix the cause and apply again.",
                    fl.status, fl.status
                ),
            )
        }
        Failure::Deleted => diags.attr_error(
            AttrPath::attr("flow_log_id"),
            format!("Flow log {id} was deleted while the {operation} was waiting for it"),
            format!(
                "The API accepted the request to {verb} flow log {id} in {region}, then DescribeFlowLogs by ID returned no such flow log: it was deleted meanwhile. The next plan proposes to create the resource again, as after any deletion outside Terraform."
            ),
        ),
        Failure::NotDeleted(fl) => diags.error(
            format!("Could not delete flow log {id}: it is still there"),
            format!(
                "The API accepted DeleteFlowLog, then flow log {id} in {region} left Deleting and is {} (DescribeFlowLogs RequestId: {}). It stays in state; apply again to retry.",
                fl.status, fl.request_id
            ),
        ),
        Failure::TimedOut(last) => diags.error(
            format!("Timed out waiting to {verb} flow log {id}"),
            format!(
                "Flow log {id} in {region} was still {} when the {operation} timeout ran out. Raise timeouts.{operation}, or run the apply again later: the resource stays in state and the next apply continues from where it is.",
                status(last)
            ),
        ),
        Failure::Cancelled(last) => diags.error(
            format!("Stopped while waiting to {verb} flow log {id}"),
            format!(
                "Terraform asked the provider to stop (Ctrl-C). Flow log {id} in {region} was last seen {}.",
                status(last)
            ),
        ),
        Failure::Api(e) => api_error(diags, &format!("Could not {verb} flow log {id}"), e),
    }
}
