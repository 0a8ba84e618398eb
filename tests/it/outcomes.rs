//! Batching changes the cost, never the outcome: many activations in one region through the
//! real terraform CLI against the emulator with background faults (activations that fail or
//! flow logs deleted while activating), destroys that fail the same way, and listings refused
//! by a least-privilege policy. The state must say only what the API said.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Run, Tf, header};

const FIXTURE: &str = include_str!("../fixtures/many_activations.tf");

fn id(i: usize) -> String {
    format!("fl-outcome{i:04}")
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(id).collect()
}

fn seed(n: usize, status: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({
                    "FlowLogId": id(i), "RegionId": "cn-hangzhou", "Status": status,
                    "FlowLogName": format!("outcome-{i}"), "ResourceType": "VPC",
                    "ResourceId": format!("vpc-outcome{i:04}"), "TrafficType": "All",
                    "ProjectName": "flow-project", "LogStoreName": "flow-store"
                })
            })
            .collect(),
    )
}

fn workspace(emu: &Emulator, ids: &[String]) -> Tf {
    let tf = Tf::new(&format!("{}\n{FIXTURE}", header()));
    tf.write(
        "terraform.tfvars.json",
        &json!({
            "flow_log_ids": ids, "endpoint": emu.base_url,
            "access_key": emu.access_key_id, "secret_key": emu.access_key_secret
        })
        .to_string(),
    );
    tf
}

fn apply(tf: &Tf) -> Run {
    tf.run(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=40",
    ])
}

fn destroy(tf: &Tf) -> Run {
    tf.run(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=40",
    ])
}

/// Flow log ID -> (status in state, tainted), from `terraform show -json`.
fn state(tf: &Tf) -> BTreeMap<String, (String, bool)> {
    let v = tf.show_json(None);
    let resources = v["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    resources
        .iter()
        .map(|r| {
            (
                r["values"]["flow_log_id"].as_str().unwrap().to_owned(),
                (
                    r["values"]["status"].as_str().unwrap_or("").to_owned(),
                    r["tainted"].as_bool().unwrap_or(false),
                ),
            )
        })
        .collect()
}

/// Flow log ID -> status, as the emulator has it now.
fn world(emu: &Emulator) -> BTreeMap<String, String> {
    emu.flow_logs()
        .iter()
        .map(|f| {
            (
                f["FlowLogId"].as_str().unwrap().to_owned(),
                f["Status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every resource the state says is `Active` is `Active` in the emulator.
#[track_caller]
fn state_tells_the_truth(tf: &Tf, emu: &Emulator) {
    let world = world(emu);
    for (id, (status, _)) in state(tf) {
        if status == "Active" {
            assert_eq!(
                world.get(&id).map(String::as_str),
                Some("Active"),
                "{id} is Active in state"
            );
        }
    }
}

/// What the next plan proposes: flow log ID -> actions, for every resource it changes.
fn next_plan(tf: &Tf) -> (i32, BTreeMap<String, Vec<String>>) {
    let r = tf.run(&[
        "plan",
        "-detailed-exitcode",
        "-input=false",
        "-no-color",
        "-out=next.tfplan",
    ]);
    let code = r.code();
    assert!(code == 0 || code == 2, "plan failed:\n{}", r.all());
    let plan = tf.show_json(Some("next.tfplan"));
    let changes = plan["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            let actions: Vec<String> = c["change"]["actions"]
                .as_array()?
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (actions != ["no-op"]).then(|| (c["index"].as_str().unwrap().to_owned(), actions))
        })
        .collect();
    (code, changes)
}

/// What terraform printed, with its line wrapping undone.
fn one_line(r: &Run) -> String {
    r.all().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[track_caller]
fn assert_names(out: &str, wanted: &[String], phrase: &str) {
    let hits = out.matches(phrase).count();
    assert_eq!(hits, wanted.len(), "{phrase:?} {hits} times in:\n{out}");
    for id in wanted {
        assert!(
            out.contains(&format!("flow log {id}")),
            "{id} not named in:\n{out}"
        );
    }
}

#[test]
fn forty_activations_with_four_background_failures() {
    let failing: Vec<String> = [3, 13, 23, 33].map(id).to_vec();
    let emu = Emulator::start(
        &seed(40, "Inactive"),
        &[
            "--activation-delay",
            "500ms",
            "--background-fail-id",
            &failing.join(","),
        ],
    );
    let tf = workspace(&emu, &ids(40));
    let r = apply(&tf);
    r.assert_failed();
    let out = one_line(&r);
    assert_names(&out, &failing, "went back to Inactive");
    assert!(out.contains("from Activating back to Inactive"), "{out}");
    assert!(out.contains("DescribeFlowLogs RequestId: "), "{out}");

    let saved = state(&tf);
    assert_eq!(saved.len(), 40, "every accepted activation is kept");
    for (id, (status, tainted)) in &saved {
        if failing.contains(id) {
            assert_eq!((status.as_str(), *tainted), ("Inactive", true), "{id}");
        } else {
            assert_eq!((status.as_str(), *tainted), ("Active", false), "{id}");
        }
    }
    state_tells_the_truth(&tf, &emu);

    // The next plan proposes the activation again for exactly those four.
    emu.clear_faults();
    let (code, changes) = next_plan(&tf);
    assert_eq!(code, 2);
    assert_eq!(changes.keys().cloned().collect::<Vec<_>>(), failing);
    // And applying it with the cause fixed converges.
    apply(&tf).assert_ok();
    assert!(world(&emu).values().all(|s| s == "Active"));
    assert_eq!(next_plan(&tf).0, 0);
}

#[test]
fn flow_logs_deleted_while_activating_among_forty() {
    let deleted: Vec<String> = [5, 15, 25].map(id).to_vec();
    let emu = Emulator::start(
        &seed(40, "Inactive"),
        &[
            "--activation-delay",
            "500ms",
            "--background-delete-id",
            &deleted.join(","),
        ],
    );
    let tf = workspace(&emu, &ids(40));
    let r = apply(&tf);
    r.assert_failed();
    assert_names(&one_line(&r), &deleted, "was deleted while");
    let saved = state(&tf);
    assert_eq!(saved.len(), 37);
    assert!(saved.values().all(|(s, t)| s == "Active" && !t));
    for id in &deleted {
        assert!(!saved.contains_key(id), "{id} must not be in state");
    }
    state_tells_the_truth(&tf, &emu);
    // As after any deletion outside Terraform: the next plan proposes to create them.
    let (code, changes) = next_plan(&tf);
    assert_eq!(code, 2);
    assert_eq!(changes.keys().cloned().collect::<Vec<_>>(), deleted);
    assert!(changes.values().all(|a| a == &["create"]));
}

#[test]
fn one_resource_background_failure_then_deletion() {
    let emu = Emulator::start(
        &seed(1, "Inactive"),
        &[
            "--activation-delay",
            "300ms",
            "--background-fail-id",
            &id(0),
        ],
    );
    let tf = workspace(&emu, &ids(1));
    let r = apply(&tf);
    r.assert_failed();
    assert_names(&one_line(&r), &[id(0)], "went back to Inactive");
    assert_eq!(state(&tf).get(&id(0)), Some(&("Inactive".to_owned(), true)));
    assert_eq!(next_plan(&tf).1.len(), 1);

    // Deleted while activating: no state, the next plan creates.
    emu.set_faults(&json!({"background_fail_ids": [], "background_delete_ids": [id(0)]}));
    emu.upsert(&id(0), &json!({"Status": "Inactive"}));
    let tf = workspace(&emu, &ids(1));
    let r = apply(&tf);
    r.assert_failed();
    assert_names(&one_line(&r), &[id(0)], "was deleted while");
    assert!(state(&tf).is_empty());
    assert!(emu.flow_log(&id(0)).is_none());
}

#[test]
fn destroy_reports_deactivations_that_fail_and_warns_of_deletions() {
    let emu = Emulator::start(&seed(40, "Inactive"), &["--activation-delay", "300ms"]);
    let tf = workspace(&emu, &ids(40));
    apply(&tf).assert_ok();
    let failing: Vec<String> = [2, 22].map(id).to_vec();
    let deleted = [id(11)];
    emu.set_faults(&json!({"background_fail_ids": failing, "background_delete_ids": deleted}));
    let r = destroy(&tf);
    r.assert_failed();
    let out = one_line(&r);
    assert_names(&out, &failing, "went back to Active");
    assert!(out.contains("from Deactivating back to Active"), "{out}");
    assert!(
        out.contains(&format!(
            "Flow log {} was deleted while deactivating",
            id(11)
        )),
        "{out}"
    );
    // Only the two that are still active stay in state, and they are Active.
    let saved = state(&tf);
    assert_eq!(saved.keys().cloned().collect::<Vec<_>>(), failing);
    assert!(saved.values().all(|(s, _)| s == "Active"));
    let world = world(&emu);
    for i in 0..40 {
        let want = if failing.contains(&id(i)) {
            Some("Active")
        } else if i == 11 {
            None
        } else {
            Some("Inactive")
        };
        assert_eq!(world.get(&id(i)).map(String::as_str), want, "{}", id(i));
    }
    emu.clear_faults();
    destroy(&tf).assert_ok();
    assert!(state(&tf).is_empty());
}

#[test]
fn sixty_under_a_policy_that_refuses_listings() {
    let emu = Emulator::start(
        &seed(60, "Inactive"),
        &["--activation-delay", "300ms", "--refuse-listings"],
    );
    let mut tf = workspace(&emu, &ids(60));
    tf.set_env("TF_LOG_PROVIDER", "warn");
    let r = apply(&tf);
    r.assert_ok();
    assert!(
        r.stderr.contains("describes flow logs one by one"),
        "the switch is logged at WARN:\n{}",
        r.stderr
    );
    assert!(state(&tf).values().all(|(s, _)| s == "Active"));
    // A refresh sees every flow log, and no change.
    assert_eq!(next_plan(&tf).0, 0);
    destroy(&tf).assert_ok();
    assert!(world(&emu).values().all(|s| s == "Inactive"));
    // The provider asked for a listing at most once per process before describing only.
    let stats = emu.stats();
    let refused = stats["errors"]["Forbidden.RAM"].as_u64().unwrap_or(0);
    assert!((1..=4).contains(&refused), "{stats}");
}
