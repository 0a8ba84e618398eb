//! `alicloud_vpc_flow_log_activation` end to end: the real terraform CLI, the provider, and the
//! emulator as a real process over HTTP.

use serde_json::{Value, json};

use crate::support::Emulator;
use crate::tf::{Sign, Tf, header};

const FL: &str = "fl-m5e8vhz2t21sel1nq0000";

fn flow_log(id: &str, status: &str) -> Value {
    json!({
        "FlowLogId": id, "RegionId": "cn-hangzhou", "Status": status,
        "FlowLogName": "web-tier", "Description": "web tier traffic",
        "ResourceType": "VPC", "ResourceId": "vpc-bp1qpo0kug3a20qqe0000",
        "TrafficType": "All", "ProjectName": "flow-project", "LogStoreName": "flow-store",
        "AggregationInterval": 10
    })
}

fn provider_block(emu: &Emulator) -> String {
    signed_provider_block(emu, Sign::Default)
}

fn signed_provider_block(emu: &Emulator, sign: Sign) -> String {
    format!(
        "provider \"alicloud\" {{\n  region     = \"cn-hangzhou\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n  protocol   = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n{}}}\n",
        emu.access_key_id,
        emu.access_key_secret,
        emu.base_url,
        sign.block()
    )
}

fn resource(name: &str, id: &str, extra: &str) -> String {
    format!(
        "resource \"alicloud_vpc_flow_log_activation\" \"{name}\" {{\n  flow_log_id = \"{id}\"\n{extra}}}\n"
    )
}

/// A workspace whose provider talks to `emu`.
fn workspace(emu: &Emulator, body: &str) -> Tf {
    signed_workspace(emu, body, Sign::Default)
}

/// The same, signing as `sign` says.
fn signed_workspace(emu: &Emulator, body: &str, sign: Sign) -> Tf {
    let mut tf = Tf::new(&format!(
        "{}\n{}\n{body}",
        header(),
        signed_provider_block(emu, sign)
    ));
    sign.apply(&mut tf);
    tf
}

fn status(emu: &Emulator, id: &str) -> String {
    emu.flow_log(id).unwrap()["Status"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn actions(emu: &Emulator, action: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["action"] == action)
        .count()
}

fn state_resource(tf: &Tf, name: &str) -> Option<Value> {
    let state = tf.show_json(None);
    state["values"]["root_module"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
}

fn apply(tf: &Tf) -> crate::tf::Run {
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
}

fn plan_exit(tf: &Tf) -> crate::tf::Run {
    tf.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
}

#[test]
fn create_then_no_diff_then_drift_repaired_in_place_then_destroy() {
    create_drift_repair_destroy(Sign::Default).assert_signed_with("v1");
}

/// Create, an empty plan, drift repaired in place, destroy; the emulator, for its log.
pub(crate) fn create_drift_repair_destroy(sign: Sign) -> Emulator {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "300ms"],
    );
    let tf = signed_workspace(&emu, &resource("this", FL, ""), sign);

    apply(&tf).assert_ok();
    assert_eq!(status(&emu, FL), "Active");
    assert_eq!(actions(&emu, "ActiveFlowLog"), 1);
    let r = state_resource(&tf, "this").unwrap();
    let v = &r["values"];
    assert_eq!(v["status"], "Active");
    assert_eq!(v["id"], FL);
    assert_eq!(v["region_id"], "cn-hangzhou");
    assert_eq!(v["flow_log_name"], "web-tier");
    assert_eq!(v["resource_id"], "vpc-bp1qpo0kug3a20qqe0000");
    assert_eq!(v["aggregation_interval"], 10);

    // Nothing changed in the world: an empty plan.
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 0, "expected no changes:\n{}", r.all());

    // Someone deactivates it: an in-place update of status only, then apply re-activates.
    emu.upsert(FL, &json!({"Status": "Inactive"}));
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "expected a diff:\n{}", r.all());
    assert!(r.stdout.contains("1 to change"), "{}", r.stdout);
    assert!(
        r.stdout.contains(r#"~ status"#) && r.stdout.contains(r#""Inactive" -> "Active""#),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("known after apply"),
        "noise in the drift plan:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains("forces replacement"), "{}", r.stdout);
    apply(&tf).assert_ok();
    assert_eq!(status(&emu, FL), "Active");
    assert_eq!(plan_exit(&tf).code(), 0);

    // Destroy deactivates by default.
    tf.run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .assert_ok();
    assert_eq!(status(&emu, FL), "Inactive");
    emu
}

#[test]
fn already_active_needs_no_activation_and_destroy_can_keep_it() {
    let emu = Emulator::start(&json!([flow_log(FL, "Active")]), &[]);
    let tf = workspace(
        &emu,
        &resource("this", FL, "  deactivate_on_destroy = false\n"),
    );
    apply(&tf).assert_ok();
    assert_eq!(actions(&emu, "ActiveFlowLog"), 0);
    tf.run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
        .assert_ok();
    assert_eq!(status(&emu, FL), "Active");
    assert_eq!(actions(&emu, "DeactiveFlowLog"), 0);
}

#[test]
fn deleted_outside_terraform_is_planned_for_creation() {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "0"],
    );
    let tf = workspace(&emu, &resource("this", FL, ""));
    apply(&tf).assert_ok();
    assert!(emu.delete(FL));
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2, "{}", r.all());
    assert!(r.stdout.contains("1 to add"), "{}", r.stdout);
}

#[test]
fn import_by_id_and_by_region_and_id_never_activates() {
    import_never_activates(Sign::Default).assert_signed_with("v1");
}

/// Imports by `ID` and by `region:ID`, which never activate; the emulator, for its log.
pub(crate) fn import_never_activates(sign: Sign) -> Emulator {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive"), {"FlowLogId": "fl-shanghai01", "RegionId": "cn-shanghai", "Status": "Active"}]),
        &["--activation-delay", "0"],
    );
    let body = format!(
        "{}{}",
        resource("a", FL, ""),
        resource("b", "fl-shanghai01", "  region_id = \"cn-shanghai\"\n")
    );
    let tf = signed_workspace(&emu, &body, sign);
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "alicloud_vpc_flow_log_activation.a",
        FL,
    ])
    .assert_ok();
    tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "alicloud_vpc_flow_log_activation.b",
        "cn-shanghai:fl-shanghai01",
    ])
    .assert_ok();
    assert_eq!(
        actions(&emu, "ActiveFlowLog"),
        0,
        "import must not activate"
    );
    assert_eq!(status(&emu, FL), "Inactive");
    let a = state_resource(&tf, "a").unwrap();
    assert_eq!(a["values"]["status"], "Inactive");
    assert_eq!(a["values"]["flow_log_name"], "web-tier");
    assert_eq!(
        state_resource(&tf, "b").unwrap()["values"]["region_id"],
        "cn-shanghai"
    );
    // The imported inactive one is then activated by a plain apply, in place.
    let r = plan_exit(&tf);
    assert_eq!(r.code(), 2);
    assert!(
        r.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        r.stdout
    );

    let bad = tf.run(&[
        "import",
        "-no-color",
        "-input=false",
        "alicloud_vpc_flow_log_activation.a",
        "not-an-id",
    ]);
    bad.assert_failed();
    assert!(bad.all().contains("Invalid import ID"), "{}", bad.all());
    emu
}

#[test]
fn import_block() {
    let emu = Emulator::start(&json!([flow_log(FL, "Active")]), &[]);
    let body = format!(
        "import {{\n  to = alicloud_vpc_flow_log_activation.this\n  id = \"cn-hangzhou:{FL}\"\n}}\n{}",
        resource("this", FL, "")
    );
    let tf = workspace(&emu, &body);
    let r = apply(&tf);
    r.assert_ok();
    assert!(
        r.stdout
            .contains("1 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        r.stdout
    );
    assert_eq!(actions(&emu, "ActiveFlowLog"), 0);
    assert_eq!(plan_exit(&tf).code(), 0);

    let missing = workspace(
        &emu,
        &format!(
            "import {{\n  to = alicloud_vpc_flow_log_activation.x\n  id = \"fl-nosuchlog\"\n}}\n{}",
            resource("x", "fl-nosuchlog", "")
        ),
    );
    let r = missing.run(&["plan", "-no-color", "-input=false"]);
    r.assert_failed();
    assert!(
        r.all().contains("Cannot import non-existent remote object"),
        "{}",
        r.all()
    );
}

#[test]
fn unknown_flow_log_is_an_error_on_flow_log_id_and_leaves_nothing_in_state() {
    let emu = Emulator::start(&json!([]), &[]);
    let tf = workspace(&emu, &resource("this", "fl-doesnotexist", ""));
    let r = apply(&tf);
    r.assert_failed();
    let out = r.all();
    assert!(out.contains("Flow log not found"), "{out}");
    assert!(
        out.contains("fl-doesnotexist") && out.contains("cn-hangzhou"),
        "{out}"
    );
    assert!(
        out.contains("flow_log_id = \"fl-doesnotexist\""),
        "no source line: {out}"
    );
    assert!(state_resource(&tf, "this").is_none());
}

#[test]
fn log_service_flow_log_is_refused_with_an_explanation() {
    let mut fl = flow_log(FL, "Inactive");
    fl["ServiceType"] = json!("sls");
    let emu = Emulator::start(&json!([fl]), &[]);
    let tf = workspace(&emu, &resource("this", FL, ""));
    let r = apply(&tf);
    r.assert_failed();
    assert!(r.all().contains("managed by Log Service"), "{}", r.all());
    assert_eq!(actions(&emu, "ActiveFlowLog"), 0);
}

#[test]
fn wrong_secret_shows_the_api_error_without_the_secret() {
    wrong_secret_refused(Sign::Default).assert_signed_with("v1");
}

/// A wrong secret: the API's error and RequestId, never the secret, no retry.
pub(crate) fn wrong_secret_refused(sign: Sign) -> Emulator {
    let emu = Emulator::start(&json!([flow_log(FL, "Inactive")]), &[]);
    let hcl = format!(
        "{}\nprovider \"alicloud\" {{\n  region     = \"cn-hangzhou\"\n  access_key = \"{}\"\n  secret_key = \"not-the-secret-9f2c\"\n  protocol   = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n{}}}\n{}",
        header(),
        emu.access_key_id,
        emu.base_url,
        sign.block(),
        resource("this", FL, "")
    );
    let mut tf = Tf::new(&hcl);
    sign.apply(&mut tf);
    let r = apply(&tf);
    r.assert_failed();
    let out = r.all();
    assert!(out.contains("SignatureDoesNotMatch"), "{out}");
    assert!(out.contains("RequestId"), "{out}");
    assert!(
        !out.contains("not-the-secret-9f2c"),
        "secret leaked:\n{out}"
    );
    // Never retried: one describe, refused.
    assert_eq!(actions(&emu, "DescribeFlowLogs"), 1);
    emu
}

#[test]
fn throttling_and_server_errors_still_converge() {
    // A real rate limit on the API side, and two injected 503s on the activation itself.
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "100ms", "--throttle-qps", "1"],
    );
    emu.fail_next(2, "ServiceUnavailable", &["ActiveFlowLog"]);
    let tf = workspace(&emu, &resource("this", FL, ""));
    apply(&tf).assert_ok();
    assert_eq!(status(&emu, FL), "Active");
    let codes: Vec<String> = emu
        .requests()
        .iter()
        .filter_map(|r| r["code"].as_str().map(str::to_owned))
        .collect();
    assert!(codes.iter().any(|c| c == "Throttling.User"), "{codes:?}");
    assert!(
        codes.iter().filter(|c| *c == "ServiceUnavailable").count() >= 2,
        "{codes:?}"
    );
}

#[test]
fn random_failures_still_converge() {
    let seed: Vec<Value> = (0..5)
        .map(|i| flow_log(&format!("fl-random{i}"), "Inactive"))
        .collect();
    let emu = Emulator::start(
        &json!(seed),
        &[
            "--activation-delay",
            "0",
            "--fail-rate",
            "0.3",
            "--fail-seed",
            "7",
        ],
    );
    let body: String = (0..5)
        .map(|i| resource(&format!("r{i}"), &format!("fl-random{i}"), ""))
        .collect();
    let tf = workspace(&emu, &body);
    apply(&tf).assert_ok();
    for i in 0..5 {
        assert_eq!(status(&emu, &format!("fl-random{i}")), "Active");
    }
}

#[test]
fn create_timeout_keeps_the_resource_in_state_and_a_later_apply_converges_in_place() {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "2s"],
    );
    let tf = workspace(
        &emu,
        &resource("this", FL, "  timeouts {\n    create = \"300ms\"\n  }\n"),
    );
    let r = apply(&tf);
    r.assert_failed();
    assert!(
        r.all().contains("Timed out waiting to activate"),
        "{}",
        r.all()
    );
    let saved = state_resource(&tf, "this").expect("the resource must be kept in state");
    assert_eq!(saved["values"]["status"], "Activating");
    // Terraform taints a failed create: the next plan replaces it...
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    assert!(
        r.stdout.contains("is tainted, so must be replaced"),
        "{}",
        r.stdout
    );
    // ...unless untainted, and then the next apply just waits for it, in place.
    tf.run(&[
        "untaint",
        "-no-color",
        "alicloud_vpc_flow_log_activation.this",
    ])
    .assert_ok();
    let tf2_hcl = resource(
        "this",
        FL,
        "  timeouts {\n    create = \"30s\"\n    update = \"30s\"\n  }\n",
    );
    tf.write(
        "main.tf",
        &format!("{}\n{}\n{tf2_hcl}", header(), provider_block(&emu)),
    );
    let r = apply(&tf);
    r.assert_ok();
    assert!(
        r.stdout.contains("0 added, 1 changed, 0 destroyed"),
        "{}",
        r.stdout
    );
    assert_eq!(status(&emu, FL), "Active");
    assert_eq!(
        actions(&emu, "ActiveFlowLog"),
        1,
        "activated once, never bounced"
    );
    assert_eq!(actions(&emu, "DeactiveFlowLog"), 0);
    assert_eq!(plan_exit(&tf).code(), 0);
}

#[test]
fn credentials_from_environment_only() {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "0"],
    );
    let mut tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{}}\n{}",
        header(),
        resource("this", FL, "")
    ));
    tf.set_env("ALICLOUD_ACCESS_KEY", &emu.access_key_id);
    tf.set_env("ALICLOUD_SECRET_KEY", &emu.access_key_secret);
    tf.set_env("ALICLOUD_REGION", "cn-hangzhou");
    tf.set_env("ALIBABA_CLOUD_ENDPOINT_VPC", &emu.base_url);
    apply(&tf).assert_ok();
    assert_eq!(status(&emu, FL), "Active");
}

#[test]
fn missing_credentials_say_where_they_were_looked_for() {
    let emu = Emulator::start(&json!([flow_log(FL, "Inactive")]), &[]);
    let mut tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{}}\n{}",
        header(),
        resource("this", FL, "")
    ));
    tf.set_env("ALICLOUD_REGION", "cn-hangzhou");
    tf.set_env("ALIBABA_CLOUD_ENDPOINT_VPC", &emu.base_url);
    // A plan of a new resource needs no API call, hence no credentials.
    tf.run(&["plan", "-no-color", "-input=false"]).assert_ok();
    let r = apply(&tf);
    r.assert_failed();
    let out = r.all();
    assert!(
        out.contains("ALICLOUD_ACCESS_KEY") && out.contains("config.json"),
        "{out}"
    );
}

#[test]
fn region_id_other_than_the_providers() {
    let emu = Emulator::start(
        &json!([{"FlowLogId": "fl-shanghai01", "RegionId": "cn-shanghai", "Status": "Inactive"}]),
        &["--activation-delay", "0"],
    );
    let tf = workspace(
        &emu,
        &resource("this", "fl-shanghai01", "  region_id = \"cn-shanghai\"\n"),
    );
    apply(&tf).assert_ok();
    assert_eq!(status(&emu, "fl-shanghai01"), "Active");
    assert_eq!(
        state_resource(&tf, "this").unwrap()["values"]["region_id"],
        "cn-shanghai"
    );
    assert_eq!(plan_exit(&tf).code(), 0);
}

#[test]
fn secrets_never_in_trace_logs_or_state() {
    let secret = "s3cr3t-value-for-the-leak-test";
    let token = "sts-token-for-the-leak-test";
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &[
            "--access-key-secret",
            secret,
            "--security-token",
            token,
            "--activation-delay",
            "0",
        ],
    );
    let hcl = format!(
        "{}\nprovider \"alicloud\" {{\n  region         = \"cn-hangzhou\"\n  access_key     = \"{}\"\n  secret_key     = \"{secret}\"\n  security_token = \"{token}\"\n  protocol       = \"HTTP\"\n  endpoints {{\n    vpc = \"{}\"\n  }}\n}}\n{}",
        header(),
        emu.access_key_id,
        emu.base_url,
        resource("this", FL, "")
    );
    let mut tf = Tf::new(&hcl);
    tf.set_env("TF_LOG", "trace");
    let r = apply(&tf);
    r.assert_ok();
    let out = r.all();
    // The provider's own hclog lines, relayed by Terraform: proof the trace reached us.
    assert!(
        out.contains("provider.terraform-provider-alicloud: plugin serving"),
        "no provider logs at trace level"
    );
    assert!(
        !out.contains(secret) && !out.contains(token),
        "secret in the trace output"
    );
    let state = tf.state_file();
    assert!(state.contains(FL));
    assert!(
        !state.contains(secret) && !state.contains(token),
        "secret in the state file"
    );
}

#[test]
fn twenty_resources_in_one_apply() {
    let ids: Vec<String> = (0..20).map(|i| format!("fl-many{i:02}")).collect();
    let seed: Vec<Value> = ids.iter().map(|id| flow_log(id, "Inactive")).collect();
    let emu = Emulator::start(&json!(seed), &["--activation-delay", "200ms"]);
    let body: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| resource(&format!("r{i}"), id, ""))
        .collect();
    let tf = workspace(&emu, &body);
    let r = apply(&tf);
    r.assert_ok();
    assert!(r.stdout.contains("20 added"), "{}", r.stdout);
    for id in &ids {
        assert_eq!(status(&emu, id), "Active");
    }
    assert_eq!(plan_exit(&tf).code(), 0);
}

#[test]
fn ctrl_c_stops_the_wait_and_keeps_the_resource() {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "120s"],
    );
    let tf = workspace(&emu, &resource("this", FL, ""));
    let child = tf
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while actions(&emu, "ActiveFlowLog") == 0 {
        assert!(
            start.elapsed().as_secs() < 60,
            "terraform never activated the flow log"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stopped_at = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let waited = stopped_at.elapsed();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    // Far below the 120 s activation: the wait was cancelled, not sat out.
    assert!(
        waited.as_secs() < 60,
        "terraform took {waited:?} to stop:\n{all}"
    );
    assert!(all.contains("Stopped while waiting to activate"), "{all}");
    let saved = state_resource(&tf, "this").expect("the resource must be kept in state");
    assert_eq!(saved["values"]["status"], "Activating");
    eprintln!("terraform stopped {waited:?} after Ctrl-C");
}

#[test]
fn changing_the_flow_log_id_replaces_the_resource() {
    let emu = Emulator::start(
        &json!([
            flow_log(FL, "Inactive"),
            flow_log("fl-other0001", "Inactive")
        ]),
        &["--activation-delay", "0"],
    );
    let tf = workspace(&emu, &resource("this", FL, ""));
    apply(&tf).assert_ok();
    tf.write(
        "main.tf",
        &format!(
            "{}\n{}\n{}",
            header(),
            provider_block(&emu),
            resource("this", "fl-other0001", "")
        ),
    );
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("must be replaced") && r.stdout.contains("# forces replacement"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("1 to add, 0 to change, 1 to destroy"),
        "{}",
        r.stdout
    );
    apply(&tf).assert_ok();
    assert_eq!(status(&emu, FL), "Inactive");
    assert_eq!(status(&emu, "fl-other0001"), "Active");
}

#[test]
fn debug_logs_name_every_api_call_and_keep_transport_internals_out() {
    let emu = Emulator::start(
        &json!([flow_log(FL, "Inactive")]),
        &["--activation-delay", "300ms"],
    );
    let mut tf = workspace(&emu, &resource("this", FL, ""));
    tf.set_env("TF_LOG", "debug");
    let r = apply(&tf);
    r.assert_ok();
    let out = r.all();
    let provider: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-alicloud:"))
        .collect();
    assert!(!provider.is_empty(), "no provider lines at debug");
    for marker in [
        "frame=",
        "inc_window",
        "encoding SETTINGS",
        "h2::",
        "hyper",
        "rustls",
        "Connection{",
    ] {
        let leaked: Vec<&&str> = provider.iter().filter(|l| l.contains(marker)).collect();
        assert!(
            leaked.is_empty(),
            "transport internals ({marker}): {leaked:#?}"
        );
    }
    // One line per API call the emulator answered, each with its RequestId, action and the
    // Terraform RPC it was made for.
    let calls: Vec<&&str> = provider.iter().filter(|l| l.contains("API call")).collect();
    assert_eq!(calls.len(), emu.requests().len(), "{calls:#?}");
    for line in &calls {
        let request_id = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("request_id="))
            .unwrap_or("");
        assert!(!request_id.is_empty(), "no RequestId: {line}");
        assert!(line.contains("action="), "{line}");
        assert!(line.contains("tf_rpc=ApplyResourceChange"), "{line}");
    }
}
