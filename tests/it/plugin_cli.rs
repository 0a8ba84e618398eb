//! The plugin as Terraform meets it: schema, validate and plan through the real CLI, and the
//! diagnostics users see for bad input.

use crate::tf::{Tf, header};

fn config(body: &str) -> String {
    format!(
        "{}\nprovider \"alicloud\" {{\n  region = \"cn-hangzhou\"\n}}\n\n{body}\n",
        header()
    )
}

const ONE: &str = r#"
resource "alicloud_vpc_flow_log_activation" "this" {
  flow_log_id = "fl-m5e8vhz2t21sel1nq0000"
}
"#;

#[test]
fn providers_schema_json() {
    let tf = Tf::new(&config(ONE));
    let r = tf.run(&["providers", "schema", "-json"]);
    r.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let p = &v["provider_schemas"][tfprovider::PROVIDER_ADDRESS];
    let provider = &p["provider"]["block"]["attributes"];
    assert_eq!(provider["secret_key"]["sensitive"], true);
    assert_eq!(provider["security_token"]["sensitive"], true);
    assert_eq!(provider["access_key"]["optional"], true);
    for (name, attr) in provider.as_object().unwrap() {
        assert!(
            attr["description"].as_str().is_some_and(|d| !d.is_empty()),
            "provider argument {name} has no description"
        );
    }
    let res = &p["resource_schemas"]["alicloud_vpc_flow_log_activation"]["block"];
    assert_eq!(res["attributes"]["flow_log_id"]["required"], true);
    assert_eq!(res["attributes"]["status"]["computed"], true);
    assert_eq!(res["attributes"]["aggregation_interval"]["type"], "number");
    assert_eq!(res["block_types"]["timeouts"]["nesting_mode"], "single");
    for (name, attr) in res["attributes"].as_object().unwrap() {
        assert!(
            attr["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name} has no description"
        );
    }
}

#[test]
fn validate_and_plan_a_new_activation() {
    let tf = Tf::new(&config(ONE));
    tf.run(&["validate", "-no-color"]).assert_ok();
    let r = tf.run(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("1 to add, 0 to change, 0 to destroy"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("status") && r.stdout.contains("(known after apply)"),
        "{}",
        r.stdout
    );
    let plan = tf.show_json(Some("tfplan"));
    let change = &plan["resource_changes"][0]["change"];
    assert_eq!(change["actions"][0], "create");
    assert_eq!(change["after_unknown"]["status"], true);
    assert_eq!(change["after"]["region_id"], "cn-hangzhou");
    assert_eq!(change["after"]["id"], "fl-m5e8vhz2t21sel1nq0000");
    assert_eq!(change["after"]["deactivate_on_destroy"], true);
}

#[test]
fn flow_log_id_unknown_at_plan_is_not_an_error() {
    let tf = Tf::new(&config(
        r#"
resource "terraform_data" "upstream" {
  input = "x"
}

resource "alicloud_vpc_flow_log_activation" "this" {
  flow_log_id = "fl-${terraform_data.upstream.id}"
  timeouts {
    create = terraform_data.upstream.id
  }
}
"#,
    ));
    tf.run(&["validate", "-no-color"]).assert_ok();
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_ok();
    assert!(r.stdout.contains("2 to add"), "{}", r.stdout);
}

#[test]
fn malformed_flow_log_id_points_at_the_attribute() {
    let tf = Tf::new(&config(
        r#"
resource "alicloud_vpc_flow_log_activation" "this" {
  flow_log_id = "vpc-123"
}
"#,
    ));
    for cmd in [
        &["validate", "-no-color"][..],
        &["plan", "-no-color", "-input=false"][..],
    ] {
        let r = tf.run(cmd);
        r.assert_failed();
        let out = r.all();
        assert!(out.contains("Invalid flow log ID"), "{out}");
        assert!(
            out.contains("flow_log_id = \"vpc-123\""),
            "no source line: {out}"
        );
        assert!(out.contains("main.tf line"), "{out}");
    }
}

#[test]
fn malformed_timeout_points_at_the_attribute() {
    let tf = Tf::new(&config(
        r#"
resource "alicloud_vpc_flow_log_activation" "this" {
  flow_log_id = "fl-abc123"
  timeouts {
    create = "ten minutes"
  }
}
"#,
    ));
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_failed();
    let out = r.all();
    assert!(out.contains("Invalid timeout duration"), "{out}");
    assert!(
        out.contains("create = \"ten minutes\""),
        "no source line: {out}"
    );
}

#[test]
fn unknown_protocol_points_at_the_attribute() {
    let tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region   = \"cn-hangzhou\"\n  protocol = \"FTP\"\n}}\n{ONE}",
        header()
    ));
    for cmd in [
        &["validate", "-no-color"][..],
        &["plan", "-no-color", "-input=false"][..],
    ] {
        let r = tf.run(cmd);
        r.assert_failed();
        let out = r.all();
        assert!(out.contains("Invalid protocol"), "{out}");
        assert!(out.contains("protocol = \"FTP\""), "no source line: {out}");
    }
}

#[test]
fn validate_needs_no_credentials_or_region() {
    let tf = Tf::new(&format!("{}\n{ONE}", header()));
    tf.run(&["validate", "-no-color"]).assert_ok();
}

#[test]
fn no_region_anywhere_is_a_plan_error_not_an_apply_surprise() {
    let tf = Tf::new(&format!("{}\nprovider \"alicloud\" {{}}\n{ONE}", header()));
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_failed();
    let out = r.all();
    assert!(
        out.contains("No region") && out.contains("ALICLOUD_REGION"),
        "{out}"
    );
    // With the region from the environment the same plan works.
    let mut tf = Tf::new(&format!("{}\nprovider \"alicloud\" {{}}\n{ONE}", header()));
    tf.set_env("ALICLOUD_REGION", "cn-beijing");
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_ok();
    assert!(
        r.stdout.contains("region_id             = \"cn-beijing\""),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_endpoint_points_at_the_attribute() {
    let tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region = \"cn-hangzhou\"\n  endpoints {{\n    vpc = \"ftp://vpc.example.com\"\n  }}\n}}\n{ONE}",
        header()
    ));
    let r = tf.run(&["validate", "-no-color"]);
    r.assert_failed();
    let out = r.all();
    assert!(
        out.contains("Invalid VPC endpoint") && out.contains("not supported"),
        "{out}"
    );
    assert!(
        out.contains("vpc = \"ftp://vpc.example.com\""),
        "no source line: {out}"
    );
}

#[test]
fn bad_sign_version_points_at_the_attribute_and_the_variable_is_checked_too() {
    let tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region = \"cn-hangzhou\"\n  sign_version {{\n    vpc = \"v2\"\n  }}\n}}\n{ONE}",
        header()
    ));
    let r = tf.run(&["validate", "-no-color"]);
    r.assert_failed();
    let out = r.all();
    assert!(
        out.contains("Invalid signature version") && out.contains("\"v1\" or \"v3\""),
        "{out}"
    );
    assert!(out.contains("vpc = \"v2\""), "no source line: {out}");
    // The variable is read when the provider is configured: a bad value fails the plan.
    let mut tf = Tf::new(&format!(
        "{}\nprovider \"alicloud\" {{\n  region = \"cn-hangzhou\"\n}}\n{ONE}",
        header()
    ));
    tf.set_env("ALICLOUD_SIGN_VERSION_VPC", "acs3");
    let r = tf.run(&["plan", "-no-color", "-input=false"]);
    r.assert_failed();
    let out = r.all();
    assert!(
        out.contains("ALICLOUD_SIGN_VERSION_VPC") && out.contains("not \"acs3\""),
        "{out}"
    );
    // A good one plans.
    tf.set_env("ALICLOUD_SIGN_VERSION_VPC", "v3");
    tf.run(&["plan", "-no-color", "-input=false"]).assert_ok();
}
