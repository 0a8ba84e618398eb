//! The end-to-end suite's main cases with signature V3 selected: the real terraform CLI, the
//! provider and the emulator as a real process, as in `activation`, `data_source` and `sts`,
//! whose scenarios these are (their own tests run them with the default, v1). Every API
//! request the emulator saw must be a V3 one.

use crate::tf::Sign;
use crate::{activation, data_source, sts};

#[test]
fn create_no_diff_drift_repair_and_destroy() {
    activation::create_drift_repair_destroy(Sign::V3Block).assert_signed_with("v3");
}

#[test]
fn import_by_id_and_by_region_and_id() {
    activation::import_never_activates(Sign::V3Block).assert_signed_with("v3");
}

#[test]
fn a_wrong_secret_is_refused_without_showing_it() {
    activation::wrong_secret_refused(Sign::V3Block).assert_signed_with("v3");
}

#[test]
fn the_data_source_pages() {
    data_source::pages_of_50(Sign::V3Block).assert_signed_with("v3");
}

/// Chosen by the environment variable: STS `AssumeRole` and the VPC calls with the role's
/// key and token are all V3.
#[test]
fn assume_role_chosen_by_the_environment() {
    sts::assume_role_block(Sign::V3Env).assert_signed_with("v3");
}

/// `assume_role_with_oidc` (an unsigned V3 call) then `assume_role` with its temporary key
/// and token (in `x-acs-security-token`), at trace level: no secret in the output or state.
#[test]
fn oidc_then_role_at_trace_level_keeps_secrets_out() {
    sts::oidc_then_role_secrets_kept_out(Sign::V3Block).assert_signed_with("v3");
}
