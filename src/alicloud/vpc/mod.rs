//! The VPC flow-log API: its product definition, its data, and typed operations on the
//! shared client.

pub mod machine;
pub mod model;
mod ops;
pub mod product;
pub mod status;

pub use model::{
    ActionResponse, CreateFlowLogRequest, CreatedFlowLog, DescribeFlowLogsRequest, FlowLog,
    FlowLogPage, MAX_PAGE_SIZE, ModifyFlowLogRequest, Tag, Tags, TrafficPath,
};
pub use product::{ENV_VPC_ENDPOINT, VPC, host_for_region};
pub use status::FlowLogStatus;
