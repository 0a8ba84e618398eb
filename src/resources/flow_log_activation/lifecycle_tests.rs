//! Table-driven tests of the flow-log lifecycle (`converge`, `describe_settled`, the
//! diagnostics) against the scripted fake API, in paused tokio time: waits cost no real time.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::alicloud::{CallOptions, FlowLogStatus};
use crate::diag::{AttrPath, Diagnostics};
use crate::resources::flow_logs::lifecycle::{self, Failure, Goal, Outcome, Target};
use crate::resources::test_fake::{FakeFlowLogs, Method, Reply, message_for, request_id_for};

use Method::{Activate as A, Deactivate as X, Describe as D};
use Reply::{Api, Gone, Status as S};

const ID: &str = "fl-m5e8vhz2t21sel1nq0000";
const REGION: &str = "cn-hangzhou";
const TARGET: Target<'static> = Target {
    region: REGION,
    id: ID,
};
/// The poll interval's cap: a status change is noticed within this long.
const POLL_MAX: Duration = Duration::from_millis(400);

fn opts_within(deadline: Duration) -> CallOptions {
    CallOptions {
        deadline: Some(Instant::now() + deadline),
        cancel: CancellationToken::new(),
    }
}

/// A failure as a short string a table can name: `Ok`, `NotFound`, `Api(code)`,
/// `TimedOut(status)`...
fn summary(result: &Result<(), Failure>) -> String {
    let status = |fl: &Option<Box<crate::alicloud::FlowLog>>| {
        fl.as_ref().map_or("-".to_owned(), |f| f.status.to_string())
    };
    match result {
        Ok(()) => "Ok".into(),
        Err(Failure::NotFound) => "NotFound".into(),
        Err(Failure::ManagedByLogService) => "Managed".into(),
        Err(Failure::Api(e)) => format!("Api({})", e.code().unwrap_or("no code")),
        Err(Failure::TimedOut(fl)) => format!("TimedOut({})", status(fl)),
        Err(Failure::Cancelled(fl)) => format!("Cancelled({})", status(fl)),
        Err(Failure::Reverted(fl)) => format!("Reverted({})", fl.status),
        Err(Failure::Deleted) => "Deleted".into(),
        Err(Failure::NotDeleted(fl)) => format!("NotDeleted({})", fl.status),
    }
}

struct Case {
    name: &'static str,
    goal: Goal,
    /// Created from Log Service (`ServiceType` "sls").
    managed: bool,
    /// Describe answers in order; the last repeats.
    describes: Vec<Reply>,
    /// Answers to the activate (goal Active) or deactivate (goal Inactive) calls; success
    /// once these run out.
    toggles: Vec<Reply>,
    deadline: Duration,
    expect: &'static str,
    changed: bool,
    calls: &'static [Method],
    /// Status of the last description seen, if any.
    last_seen: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, goal: Goal) -> Self {
        Case {
            name,
            goal,
            managed: false,
            describes: vec![S("Inactive")],
            toggles: Vec::new(),
            deadline: Duration::from_secs(600),
            expect: "Ok",
            changed: false,
            calls: &[],
            last_seen: None,
        }
    }
}

async fn run(case: &Case) -> (Outcome, FakeFlowLogs) {
    let mut fake = FakeFlowLogs::new(ID).describes(case.describes.clone());
    if case.managed {
        fake = fake.managed();
    }
    fake = match case.goal {
        Goal::Active => fake.activates(case.toggles.clone()),
        Goal::Inactive => fake.deactivates(case.toggles.clone()),
    };
    let opts = opts_within(case.deadline);
    let out = lifecycle::converge(&fake, &TARGET, case.goal, &opts).await;
    (out, fake)
}

fn check(case: &Case, out: &Outcome, fake: &FakeFlowLogs) {
    let name = case.name;
    assert_eq!(summary(&out.result), case.expect, "{name}: result");
    assert_eq!(out.changed, case.changed, "{name}: changed");
    assert_eq!(fake.methods(), case.calls, "{name}: calls");
    assert_eq!(
        out.last_seen.as_ref().map(|f| f.status.as_str()),
        case.last_seen,
        "{name}: last seen"
    );
    for call in fake.calls() {
        assert_eq!(
            (call.region.as_str(), call.id.as_str()),
            (REGION, ID),
            "{name}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn converge_cases() {
    use Goal::{Active, Inactive};
    let cases = vec![
        Case {
            describes: vec![S("Active")],
            calls: &[D],
            last_seen: Some("Active"),
            ..Case::new("already active: one describe, no activate", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Activating"), S("Activating"), S("Active")],
            calls: &[D, A, D, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new("inactive: activate, wait through Activating", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Active")],
            calls: &[D, A, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new(
                "fast API: active on the look right after activating",
                Active,
            )
        },
        Case {
            describes: vec![S("Activating"), S("Activating"), S("Active")],
            calls: &[D, D, D],
            last_seen: Some("Active"),
            ..Case::new("already activating: wait, no activate", Active)
        },
        Case {
            describes: vec![
                S("Deactivating"),
                S("Deactivating"),
                S("Inactive"),
                S("Inactive"),
                S("Activating"),
                S("Active"),
            ],
            calls: &[D, D, D, D, A, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new("deactivating: waited out, then activated", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Active")],
            toggles: vec![Api("IncorrectStatus.flowlog")],
            calls: &[D, A, D],
            last_seen: Some("Active"),
            ..Case::new("IncorrectStatus.flowlog on activate: look again", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Activating"), S("Active")],
            toggles: vec![Api("InvalidStatus")],
            calls: &[D, A, D, D],
            last_seen: Some("Active"),
            ..Case::new(
                "InvalidStatus on activate: someone else is activating",
                Active,
            )
        },
        Case {
            describes: vec![S("Inactive"), S("Inactive"), S("Activating"), S("Active")],
            toggles: vec![Api("IncorrectStatus.flowlog")],
            calls: &[D, A, D, A, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new("conflict, still inactive: activate again", Active)
        },
        Case {
            toggles: vec![Api("InvalidInstanceId.NotFound")],
            expect: "NotFound",
            calls: &[D, A],
            last_seen: Some("Inactive"),
            ..Case::new("InvalidInstanceId.NotFound on activate", Active)
        },
        Case {
            describes: vec![Gone],
            expect: "NotFound",
            calls: &[D],
            ..Case::new("empty describe: not found", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Activating"), Gone],
            expect: "Deleted",
            calls: &[D, A, D, D],
            changed: true,
            ..Case::new("deleted while activating", Active)
        },
        Case {
            describes: vec![S("Inactive"), Gone],
            expect: "Deleted",
            calls: &[D, A, D],
            changed: true,
            ..Case::new("deleted right after the activation was accepted", Active)
        },
        Case {
            describes: vec![
                S("Inactive"),
                S("Activating"),
                S("Activating"),
                S("Inactive"),
            ],
            expect: "Reverted(Inactive)",
            calls: &[D, A, D, D, D],
            changed: true,
            last_seen: Some("Inactive"),
            ..Case::new(
                "activation fails in the background: back to Inactive",
                Active,
            )
        },
        Case {
            describes: vec![
                S("Activating"),
                S("Inactive"),
                S("Inactive"),
                S("Activating"),
                S("Active"),
            ],
            calls: &[D, D, D, A, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new(
                "someone else's activation failed: ours is asked and waited for",
                Active,
            )
        },
        Case {
            describes: vec![
                S("Inactive"),
                S("Inactive"),
                S("Inactive"),
                S("Activating"),
                S("Active"),
            ],
            calls: &[D, A, D, D, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new("accepted, under way a moment later", Active)
        },
        Case {
            describes: vec![S("Inactive")],
            expect: "Reverted(Inactive)",
            calls: &[D, A, D, D, D, D, D, D, D, D, D],
            changed: true,
            last_seen: Some("Inactive"),
            ..Case::new("accepted, never under way: reported after a grace", Active)
        },
        Case {
            describes: vec![S("Active"), S("Deactivating"), S("Active")],
            expect: "Reverted(Active)",
            calls: &[D, X, D, D],
            changed: true,
            last_seen: Some("Active"),
            ..Case::new(
                "deactivation fails in the background: back to Active",
                Inactive,
            )
        },
        Case {
            describes: vec![S("Active"), S("Deactivating"), Gone],
            calls: &[D, X, D, D],
            changed: true,
            ..Case::new(
                "deleted while deactivating: nothing left to deactivate",
                Inactive,
            )
        },
        Case {
            managed: true,
            expect: "Managed",
            calls: &[D],
            last_seen: Some("Inactive"),
            ..Case::new("managed by Log Service: refused, no activate", Active)
        },
        Case {
            managed: true,
            describes: vec![S("Active")],
            expect: "Managed",
            calls: &[D],
            last_seen: Some("Active"),
            ..Case::new("managed by Log Service and already active: refused", Active)
        },
        Case {
            describes: vec![S("Activating")],
            deadline: Duration::from_secs(5),
            expect: "TimedOut(Activating)",
            calls: &[D; 15],
            last_seen: Some("Activating"),
            ..Case::new("stuck activating, nothing asked: times out", Active)
        },
        Case {
            describes: vec![S("Inactive"), S("Activating")],
            deadline: Duration::from_secs(2),
            expect: "TimedOut(Activating)",
            calls: &[D, A, D, D, D, D, D, D, D, D],
            changed: true,
            last_seen: Some("Activating"),
            ..Case::new("activated, stuck activating: times out, changed", Active)
        },
        Case {
            describes: vec![S("Inactive"), Reply::Cancelled],
            expect: "Cancelled(-)",
            calls: &[D, A, D],
            changed: true,
            last_seen: Some("Inactive"),
            ..Case::new("cancelled by the transport during the look", Active)
        },
        // Goal::Inactive: the delete path.
        Case {
            describes: vec![S("Active"), S("Deactivating"), S("Inactive")],
            calls: &[D, X, D, D],
            changed: true,
            last_seen: Some("Inactive"),
            ..Case::new("delete: deactivate, wait through Deactivating", Inactive)
        },
        Case {
            calls: &[D],
            last_seen: Some("Inactive"),
            ..Case::new("delete: already inactive, no deactivate", Inactive)
        },
        Case {
            describes: vec![Gone],
            calls: &[D],
            ..Case::new("delete: gone is inactive enough", Inactive)
        },
        Case {
            describes: vec![S("Active")],
            toggles: vec![Api("InvalidInstanceId.NotFound")],
            calls: &[D, X],
            last_seen: Some("Active"),
            ..Case::new("delete: InvalidInstanceId.NotFound on deactivate", Inactive)
        },
        Case {
            describes: vec![
                S("Activating"),
                S("Active"),
                S("Active"),
                S("Deactivating"),
                S("Inactive"),
            ],
            calls: &[D, D, D, X, D, D],
            changed: true,
            last_seen: Some("Inactive"),
            ..Case::new("delete: activation waited out first", Inactive)
        },
        Case {
            describes: vec![S("Active"), S("Inactive")],
            toggles: vec![Api("IncorrectStatus.flowlog")],
            calls: &[D, X, D],
            last_seen: Some("Inactive"),
            ..Case::new("delete: status conflict, look again", Inactive)
        },
        Case {
            managed: true,
            describes: vec![S("Active")],
            expect: "Managed",
            calls: &[D],
            last_seen: Some("Active"),
            ..Case::new("delete: managed by Log Service, no deactivate", Inactive)
        },
        Case {
            managed: true,
            calls: &[D],
            last_seen: Some("Inactive"),
            ..Case::new("delete: managed but already inactive", Inactive)
        },
    ];
    for case in &cases {
        let (out, fake) = run(case).await;
        check(case, &out, &fake);
    }
}

/// Every documented error code that is not "look again" or "not found" surfaces as
/// `Failure::Api` with its code and RequestId, and the diagnostic points at the attribute it
/// concerns and quotes code, message and RequestId.
#[tokio::test(start_paused = true)]
async fn api_errors_surface_with_code_request_id_and_attribute() {
    struct Row {
        code: &'static str,
        /// Where the error comes from: the first describe, or the activate call.
        on_activate: bool,
        path: Option<&'static str>,
    }
    let row = |code, on_activate, path| Row {
        code,
        on_activate,
        path,
    };
    let rows = [
        // ActiveFlowLog's documented codes.
        row("IncorrectBusinessStatus.FlowLog", true, Some("flow_log_id")),
        row("InvalidInstanceId", true, Some("flow_log_id")),
        row("InvalidRegionId.NotFound", true, Some("region_id")),
        row("Forbidden.OperateManagedFlowLog", true, Some("flow_log_id")),
        row(
            "OperationDenied.FlowLogDeliverFailed",
            true,
            Some("flow_log_id"),
        ),
        // The first call of all is the describe: a bad region shows up there.
        row("InvalidRegionId.NotFound", false, Some("region_id")),
        // Throttling the transport gave up on: an API error, retried by nobody here.
        row("Throttling", true, None),
        row("Throttling.User", false, None),
        row("Throttling.Api", true, None),
        row("Rejected.Throttling", true, None),
        row("ServiceUnavailable", false, None),
        // Gateway codes: about the credentials or the request, no attribute.
        row("InvalidAccessKeyId.NotFound", false, None),
        row("SignatureDoesNotMatch", false, None),
        row("Forbidden.RAM", true, None),
    ];
    for r in &rows {
        let fake = if r.on_activate {
            FakeFlowLogs::new(ID).activates([Api(r.code)])
        } else {
            FakeFlowLogs::new(ID).describes([Api(r.code)])
        };
        let out = lifecycle::converge(
            &fake,
            &TARGET,
            Goal::Active,
            &opts_within(Duration::from_secs(60)),
        )
        .await;
        let code = r.code;
        assert_eq!(summary(&out.result), format!("Api({code})"), "{code}");
        assert!(!out.changed, "{code}");
        let expected_calls: &[Method] = if r.on_activate { &[D, A] } else { &[D] };
        assert_eq!(fake.methods(), expected_calls, "{code}: no retry here");
        let Err(Failure::Api(e)) = &out.result else {
            unreachable!()
        };
        assert_eq!(
            e.request_id(),
            Some(request_id_for(code).as_str()),
            "{code}"
        );

        let mut diags = Diagnostics::new();
        lifecycle::report(&out, &TARGET, "activate", "create", &mut diags);
        assert_eq!(diags.0.len(), 1, "{code}: {diags:?}");
        let d = &diags.0[0];
        assert_eq!(d.path, r.path.map(AttrPath::attr), "{code}: path");
        assert_eq!(
            d.summary,
            format!("Could not activate flow log {ID}"),
            "{code}"
        );
        for part in [code.to_owned(), message_for(code), request_id_for(code)] {
            assert!(
                d.detail.contains(&part),
                "{code}: {part:?} not in {:?}",
                d.detail
            );
        }
    }
}

/// The diagnostics of the failures that are not API errors.
#[test]
fn other_failures_are_reported_on_the_right_attribute() {
    let last = Some(Box::new(crate::resources::test_fake::flow_log(
        ID,
        "Activating",
    )));
    let rows: Vec<(&str, Failure, Option<&str>, &[&str])> = vec![
        (
            "not found",
            Failure::NotFound,
            Some("flow_log_id"),
            &["no flow log", ID, REGION],
        ),
        (
            "managed",
            Failure::ManagedByLogService,
            Some("flow_log_id"),
            &["Log Service", "sls"],
        ),
        (
            "timed out",
            Failure::TimedOut(last.clone()),
            None,
            &["still Activating", "timeouts.create"],
        ),
        (
            "cancelled",
            Failure::Cancelled(last),
            None,
            &["stop", "last seen Activating"],
        ),
        (
            "cancelled unseen",
            Failure::Cancelled(None),
            None,
            &["last seen unknown"],
        ),
    ];
    for (name, failure, path, words) in rows {
        let mut diags = Diagnostics::new();
        lifecycle::report_failure(&failure, &TARGET, "activate", "create", &mut diags);
        assert_eq!(diags.0.len(), 1, "{name}");
        let d = &diags.0[0];
        assert_eq!(d.path, path.map(AttrPath::attr), "{name}");
        for w in words {
            assert!(d.detail.contains(w), "{name}: {w:?} not in {:?}", d.detail);
        }
    }
}

/// A change that did not take is reported with the flow log, where it went back to, and the
/// RequestId of the answer that showed it; a deletion meanwhile names itself.
#[tokio::test(start_paused = true)]
async fn background_failures_name_the_flow_log_status_and_request_id() {
    let mut back = crate::resources::test_fake::flow_log(ID, "Inactive");
    back.request_id = "REQ-SHOWED-INACTIVE".to_owned();
    let fake = FakeFlowLogs::new(ID).describes(vec![
        S("Inactive"),
        S("Activating"),
        Reply::Found(Box::new(back)),
    ]);
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Active,
        &opts_within(Duration::from_secs(60)),
    )
    .await;
    let mut diags = Diagnostics::new();
    lifecycle::report(&out, &TARGET, "activate", "create", &mut diags);
    let d = &diags.0[0];
    assert!(
        d.summary.contains(ID) && d.summary.contains("went back to Inactive"),
        "{d:?}"
    );
    for w in [
        "from Activating back to Inactive",
        "REQ-SHOWED-INACTIVE",
        REGION,
        "Log Service",
    ] {
        assert!(d.detail.contains(w), "{w:?} not in {:?}", d.detail);
    }

    let fake = FakeFlowLogs::new(ID).describes(vec![S("Inactive"), S("Activating"), Gone]);
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Active,
        &opts_within(Duration::from_secs(60)),
    )
    .await;
    let mut diags = Diagnostics::new();
    lifecycle::report(&out, &TARGET, "activate", "create", &mut diags);
    let d = &diags.0[0];
    assert!(d.summary.contains("was deleted while"), "{d:?}");
    assert_eq!(d.path, Some(AttrPath::attr("flow_log_id")));
    assert!(out.last_seen.is_none(), "nothing to record");

    let fake = FakeFlowLogs::new(ID).describes(vec![S("Active"), S("Deactivating"), Gone]);
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Inactive,
        &opts_within(Duration::from_secs(60)),
    )
    .await;
    assert!(out.result.is_ok() && out.vanished);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_the_wait_at_once() {
    let fake = FakeFlowLogs::new(ID).statuses(&["Inactive", "Activating"]);
    let opts = opts_within(Duration::from_secs(600));
    let cancel = opts.cancel.clone();
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1234)).await;
        cancel.cancel();
    });
    let out = lifecycle::converge(&fake, &TARGET, Goal::Active, &opts).await;
    assert_eq!(summary(&out.result), "Cancelled(Activating)");
    assert!(out.changed);
    assert_eq!(
        out.last_seen.map(|f| f.status),
        Some(FlowLogStatus::Activating)
    );
    // Not at the end of a poll interval: right when the token fired.
    assert_eq!(start.elapsed(), Duration::from_millis(1234));
    let calls = fake.calls();
    assert!(calls.last().unwrap().at <= start + Duration::from_millis(1234));
}

#[tokio::test(start_paused = true)]
async fn timeout_is_the_deadline_not_later() {
    let fake = FakeFlowLogs::new(ID).statuses(&["Inactive", "Activating"]);
    let start = Instant::now();
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Active,
        &opts_within(Duration::from_millis(7500)),
    )
    .await;
    assert_eq!(summary(&out.result), "TimedOut(Activating)");
    assert!(out.changed);
    assert_eq!(start.elapsed(), Duration::from_millis(7500));
}

/// However long the transition takes, the status change is noticed within one capped poll
/// interval: a slow activation does not make the wait slower than it needs to be.
#[tokio::test(start_paused = true)]
async fn the_wait_notices_a_status_change_within_the_poll_cap() {
    for flip_ms in [1, 49, 50, 120, 399, 1_000, 3_700, 12_345, 61_000] {
        let flip = Duration::from_millis(flip_ms);
        for goal in [Goal::Active, Goal::Inactive] {
            let (moving, done) = match goal {
                Goal::Active => ("Activating", "Active"),
                Goal::Inactive => ("Deactivating", "Inactive"),
            };
            let start = Instant::now();
            let fake = FakeFlowLogs::new(ID).timeline(&[(Duration::ZERO, moving), (flip, done)]);
            let out =
                lifecycle::converge(&fake, &TARGET, goal, &opts_within(Duration::from_secs(600)))
                    .await;
            assert_eq!(summary(&out.result), "Ok", "{goal:?} after {flip_ms} ms");
            let lag = start.elapsed().saturating_sub(flip);
            assert!(
                lag <= POLL_MAX,
                "{goal:?} after {flip_ms} ms noticed {lag:?} late"
            );

            let start = Instant::now();
            let fake = FakeFlowLogs::new(ID).timeline(&[(Duration::ZERO, moving), (flip, done)]);
            let fl =
                lifecycle::describe_settled(&fake, &TARGET, &opts_within(Duration::from_secs(600)))
                    .await
                    .ok()
                    .flatten()
                    .expect("described");
            assert_eq!(fl.status, FlowLogStatus::parse(done));
            let lag = start.elapsed().saturating_sub(flip);
            assert!(
                lag <= POLL_MAX,
                "settled {goal:?} after {flip_ms} ms noticed {lag:?} late"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn describe_settled_cases() {
    struct Row {
        name: &'static str,
        describes: Vec<Reply>,
        deadline: Duration,
        /// `Some(status)`, `None` (gone), or `Err(kind)`.
        expect: &'static str,
        describes_made: usize,
    }
    let row = |name, describes: Vec<Reply>, deadline_s: u64, expect, describes_made| Row {
        name,
        describes,
        deadline: Duration::from_secs(deadline_s),
        expect,
        describes_made,
    };
    #[rustfmt::skip]
    let rows = [
        row("settled: one describe", vec![S("Active")], 60, "Some(Active)", 1),
        row("inactive is settled too", vec![S("Inactive")], 60, "Some(Inactive)", 1),
        row("activating waited out", vec![S("Activating"), S("Activating"), S("Active")], 60, "Some(Active)", 3),
        row("deactivating waited out", vec![S("Deactivating"), S("Inactive")], 60, "Some(Inactive)", 2),
        row("stuck: reports what it saw at the deadline", vec![S("Activating")], 3, "Some(Activating)", 10),
        row("gone at once", vec![Gone], 60, "None", 1),
        row("vanishes mid-wait", vec![S("Deactivating"), S("Deactivating"), Gone], 60, "None", 3),
        row("API error at once", vec![Api("InvalidRegionId.NotFound")], 60, "Err(Api(InvalidRegionId.NotFound))", 1),
        row("API error mid-wait", vec![S("Activating"), Api("Throttling")], 60, "Err(Api(Throttling))", 2),
        row("transport timeout mid-wait, before the deadline", vec![S("Activating"), Reply::Timeout], 60, "Err(Api(no code))", 2),
        row("cancelled mid-wait", vec![S("Activating"), Reply::Cancelled], 60, "Err(Cancelled(Activating))", 2),
    ];
    for r in rows {
        let fake = FakeFlowLogs::new(ID).describes(r.describes);
        let got = lifecycle::describe_settled(&fake, &TARGET, &opts_within(r.deadline)).await;
        let got = match got {
            Ok(Some(fl)) => format!("Some({})", fl.status),
            Ok(None) => "None".to_owned(),
            Err(f) => format!("Err({})", summary(&Err(f))),
        };
        assert_eq!(got, r.expect, "{}", r.name);
        assert_eq!(
            fake.methods(),
            vec![D; r.describes_made],
            "{}: only describes",
            r.name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn describe_settled_with_a_cancelled_token_stops_promptly() {
    let fake = FakeFlowLogs::new(ID).statuses(&["Activating"]);
    let opts = opts_within(Duration::from_secs(600));
    let cancel = opts.cancel.clone();
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        cancel.cancel();
    });
    let got = lifecycle::describe_settled(&fake, &TARGET, &opts).await;
    assert!(
        matches!(got, Err(Failure::Cancelled(Some(ref f))) if f.status == FlowLogStatus::Activating)
    );
    assert_eq!(start.elapsed(), Duration::from_millis(700));
}

/// The state built from a description: identity, configuration-only values kept, every API
/// attribute copied, empty texts null.
#[test]
fn state_from_a_description() {
    use crate::tfvalue::Value;
    let mut fl = crate::resources::test_fake::flow_log(ID, "Active");
    fl.description = String::new();
    let base = Value::Object(
        [
            ("deactivate_on_destroy".to_owned(), Value::Bool(false)),
            ("timeouts".to_owned(), Value::unknown()),
        ]
        .into_iter()
        .collect(),
    );
    let s = crate::resources::flow_log_activation::state_from(&fl, REGION, &base);
    assert!(s.is_wholly_known());
    let get = |k: &str| s.get(k).cloned().unwrap_or_else(|| panic!("no {k}"));
    assert_eq!(get("id"), Value::string(ID));
    assert_eq!(get("flow_log_id"), Value::string(ID));
    assert_eq!(get("region_id"), Value::string(REGION));
    assert_eq!(get("deactivate_on_destroy"), Value::Bool(false));
    assert_eq!(
        get("timeouts"),
        Value::Null,
        "unknown timeouts are not kept"
    );
    assert_eq!(get("status"), Value::string("Active"));
    assert_eq!(get("aggregation_interval"), Value::int(10));
    assert_eq!(get("description"), Value::Null);
    assert_eq!(
        get("resource_id"),
        Value::string("vsw-bp1s8ld6y2m0dp2sp0000")
    );
    let defaulted = crate::resources::flow_log_activation::state_from(&fl, REGION, &Value::Null);
    assert_eq!(
        defaulted.get("deactivate_on_destroy"),
        Some(&Value::Bool(true))
    );
}

/// The API refuses to activate a flow log again "within a short period" (a status conflict)
/// while describing it as Inactive. That is waited out with the poll backoff until the
/// deadline, not asked again at once: before the fix, 20 back-to-back rounds (40 calls in
/// no time) ended in "timed out" long before the timeout.
#[tokio::test(start_paused = true)]
async fn a_lasting_status_conflict_is_waited_out_not_hammered() {
    let conflicts = 25;
    let mut describes = vec![S("Inactive"); conflicts + 1];
    describes.extend([S("Activating"), S("Active")]);
    let fake =
        FakeFlowLogs::new(ID)
            .describes(describes)
            .activates(vec![Api("IncorrectStatus.flowlog"); conflicts]);
    let start = Instant::now();
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Active,
        &opts_within(Duration::from_secs(600)),
    )
    .await;
    assert_eq!(summary(&out.result), "Ok");
    assert!(out.changed);
    assert_eq!(fake.count(A), conflicts + 1);
    let asks: Vec<Instant> = fake
        .calls()
        .iter()
        .filter(|c| c.method == A)
        .map(|c| c.at)
        .collect();
    for pair in asks.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(50),
            "asked again at once"
        );
        assert!(
            pair[1] - pair[0] <= POLL_MAX,
            "waited longer than the poll cap"
        );
    }
    assert!(start.elapsed() < Duration::from_secs(15));

    // A conflict that outlasts the deadline: timed out at the deadline, with the last status.
    let fake = FakeFlowLogs::new(ID).activates(vec![Api("InvalidStatus"); 1000]);
    let start = Instant::now();
    let out = lifecycle::converge(
        &fake,
        &TARGET,
        Goal::Active,
        &opts_within(Duration::from_secs(8)),
    )
    .await;
    assert_eq!(summary(&out.result), "TimedOut(Inactive)");
    assert!(!out.changed);
    assert_eq!(start.elapsed(), Duration::from_secs(8));
    assert!(
        fake.count(A) < 30,
        "{} activate calls in 8 s",
        fake.count(A)
    );

    // Without a deadline the rounds stay bounded.
    let fake = FakeFlowLogs::new(ID).activates(vec![Api("InvalidStatus"); 1000]);
    let no_deadline = CallOptions {
        deadline: None,
        cancel: CancellationToken::new(),
    };
    let out = lifecycle::converge(&fake, &TARGET, Goal::Active, &no_deadline).await;
    assert_eq!(summary(&out.result), "TimedOut(Inactive)");
    assert_eq!(fake.count(A), 20);
}
