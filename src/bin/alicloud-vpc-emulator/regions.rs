//! The Alibaba Cloud region ids the emulator accepts as `RegionId`.
//!
//! A fixed table rather than "anything": a typo in a region must fail here the way it fails
//! against the real API, or tests would pass offline and break online.

/// Public-cloud region ids, plus the finance and government regions the VPC API also serves.
pub const REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "cn-hangzhou-finance",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-beijing-finance-1",
    "cn-north-2-gov-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-south-1",
    "us-east-1",
    "us-west-1",
    "na-south-1",
    "mx-central-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
];

pub fn is_known_region(id: &str) -> bool {
    REGIONS.contains(&id)
}
