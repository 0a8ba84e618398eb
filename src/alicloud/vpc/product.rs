//! The VPC product as the transport needs it: API version, endpoint rule (public hosts per
//! region, the user's overrides) and the conflict codes its toggles may retry.

use crate::alicloud::rpc::Product;
use crate::alicloud::rpc::endpoint::EndpointRule;

/// Environment variables naming the VPC endpoint, first set wins.
pub const ENV_VPC_ENDPOINT: &[&str] = &["ALIBABA_CLOUD_ENDPOINT_VPC", "VPC_ENDPOINT"];

/// Regions served by the central `vpc.aliyuncs.com`; every other region has its own host.
const CENTRAL_REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "us-west-1",
    "us-east-1",
];

pub const VPC: Product = Product {
    name: "VPC",
    version: "2016-04-28",
    endpoint: EndpointRule {
        key: "vpc",
        setting: "vpc_endpoint",
        env: ENV_VPC_ENDPOINT,
        default_host: |region| host_for_region(region.unwrap_or("cn-hangzhou")),
    },
    secret_answers: false,
};

/// ActiveFlowLog / DeactiveFlowLog: conflicts of a flow log being changed by another task.
pub const TOGGLE_CONFLICT_CODES: &[&str] =
    &["TaskConflict", "LastTokenProcessing", "OperationConflict"];

/// CreateFlowLog: what the official provider retries (the generally transient codes, such as
/// `ServiceUnavailable`, `SystemBusy` and throttling, are retried for every action).
pub const CREATE_CONFLICT_CODES: &[&str] = &[
    "TaskConflict",
    "OperationFailed.LastTokenProcessing",
    "LastTokenProcessing",
    "IncorrectStatus",
    "InvalidHdMonitorStatus",
    "OperationConflict",
];

/// Changes of an existing flow log (delete, modify, move, tag): conflicts with a change under
/// way, which clear by themselves. The resource also waits out a busy flow log before it
/// asks again, within its own timeout.
pub const CHANGE_CONFLICT_CODES: &[&str] = &[
    "TaskConflict",
    "OperationFailed.LastTokenProcessing",
    "LastTokenProcessing",
    "InvalidHdMonitorStatus",
    "IncorrectStatus",
    "IncorrectStatus.flowlog",
    "InvalidStatus",
    "OperationConflict",
];

/// `ResourceType` of flow logs in the tag and resource-group operations.
pub const FLOW_LOG_RESOURCE_TYPE: &str = "FLOWLOG";

/// The public VPC API host of a region.
pub fn host_for_region(region_id: &str) -> String {
    if CENTRAL_REGIONS.contains(&region_id) {
        "vpc.aliyuncs.com".to_owned()
    } else {
        format!("vpc.{region_id}.aliyuncs.com")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alicloud::rpc::endpoint::Endpoint;
    use crate::alicloud::settings::{Environment, Protocol};

    #[test]
    fn table() {
        for r in CENTRAL_REGIONS {
            assert_eq!(host_for_region(r), "vpc.aliyuncs.com");
        }
        assert_eq!(
            host_for_region("eu-central-1"),
            "vpc.eu-central-1.aliyuncs.com"
        );
        assert_eq!(
            host_for_region("cn-zhangjiakou"),
            "vpc.cn-zhangjiakou.aliyuncs.com"
        );
        let env = Environment::from_map(Default::default(), None);
        let e = Endpoint::resolve(&VPC.endpoint, None, &env, Protocol::Https).unwrap();
        assert_eq!(
            e.url_for(Some("cn-hangzhou")).unwrap().as_str(),
            "https://vpc.aliyuncs.com/"
        );
        assert_eq!(
            e.url_for(Some("ap-northeast-1")).unwrap().as_str(),
            "https://vpc.ap-northeast-1.aliyuncs.com/"
        );
        let e = Endpoint::resolve(&VPC.endpoint, None, &env, Protocol::Http).unwrap();
        assert_eq!(
            e.url_for(Some("eu-west-1")).unwrap().as_str(),
            "http://vpc.eu-west-1.aliyuncs.com/"
        );
    }
}
