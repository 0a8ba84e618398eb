//! Typed VPC flow-log operations on the shared client: CreateFlowLog, DeleteFlowLog,
//! ModifyFlowLogAttribute, ActiveFlowLog, DeactiveFlowLog, the tag and resource-group calls for
//! flow logs, and DescribeFlowLogs for one flow log or as a filtered listing of every page.

use super::model::{
    ActionAnswer, ActionResponse, CreateAnswer, CreateFlowLogRequest, CreatedFlowLog,
    DescribeAnswer, DescribeFlowLogsRequest, FlowLog, FlowLogPage, MAX_PAGE_SIZE, MAX_PAGES,
    ModifyFlowLogRequest,
};
use super::product::{
    CHANGE_CONFLICT_CODES, CREATE_CONFLICT_CODES, FLOW_LOG_RESOURCE_TYPE, TOGGLE_CONFLICT_CODES,
    VPC,
};
use crate::alicloud::client::Client;
use crate::alicloud::error::Error;
use crate::alicloud::rpc::{CallOptions, Request};

fn required<'a>(name: &str, value: &'a str) -> Result<&'a str, Error> {
    let v = value.trim();
    if v.is_empty() {
        Err(Error::InvalidRequest(format!("{name} must not be empty")))
    } else {
        Ok(v)
    }
}

/// A parameter sent only when it has a value.
fn optional(params: &mut Vec<(String, String)>, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        params.push((name.to_owned(), v.clone()));
    }
}

impl Client {
    /// One action whose answer is only a RequestId; names are built per call (list
    /// parameters are numbered).
    async fn action(
        &self,
        action: &'static str,
        region_id: &str,
        params: &[(String, String)],
        retry_also: &'static [&'static str],
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let region_id = required("region_id", region_id)?;
        let params: Vec<(&str, String)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let req = Request {
            action,
            region_id: Some(region_id),
            params: &params,
            retry_also,
            creates: false,
            ahead: false,
        };
        let answer: ActionAnswer = self.transport().call(&VPC, &req, self.auth(), opts).await?;
        Ok(ActionResponse {
            request_id: answer.request_id,
        })
    }

    /// Creates a flow log (asynchronous: `Activating`, then `Active`); answers its ID at once.
    pub async fn create_flow_log(
        &self,
        req: &CreateFlowLogRequest,
        opts: &CallOptions,
    ) -> Result<CreatedFlowLog, Error> {
        let region_id = required("region_id", &req.region_id)?;
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in [
            ("ResourceType", &req.resource_type),
            ("ResourceId", &req.resource_id),
            ("TrafficType", &req.traffic_type),
            ("ProjectName", &req.project_name),
            ("LogStoreName", &req.log_store_name),
        ] {
            params.push((name.to_owned(), required(name, value)?.to_owned()));
        }
        optional(&mut params, "FlowLogName", &req.flow_log_name);
        optional(&mut params, "Description", &req.description);
        optional(
            &mut params,
            "AggregationInterval",
            &req.aggregation_interval,
        );
        optional(&mut params, "IpVersion", &req.ip_version);
        optional(&mut params, "ResourceGroupId", &req.resource_group_id);
        for (i, path) in req.traffic_path.iter().enumerate() {
            params.push((format!("TrafficPath.{}", i + 1), path.clone()));
        }
        for (i, (k, v)) in req.tags.iter().enumerate() {
            params.push((format!("Tag.{}.Key", i + 1), k.clone()));
            params.push((format!("Tag.{}.Value", i + 1), v.clone()));
        }
        let params: Vec<(&str, String)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let call = Request {
            action: "CreateFlowLog",
            region_id: Some(region_id),
            params: &params,
            retry_also: CREATE_CONFLICT_CODES,
            creates: true,
            ahead: false,
        };
        let answer: CreateAnswer = self
            .transport()
            .call(&VPC, &call, self.auth(), opts)
            .await?;
        Ok(CreatedFlowLog {
            flow_log_id: answer.flow_log_id.trim().to_owned(),
            request_id: answer.request_id,
        })
    }

    /// Deletes a flow log (asynchronous: `Deleting`, then gone).
    pub async fn delete_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let id = required("flow_log_id", flow_log_id)?;
        let params = [("FlowLogId".to_owned(), id.to_owned())];
        self.action(
            "DeleteFlowLog",
            region_id,
            &params,
            CHANGE_CONFLICT_CODES,
            opts,
        )
        .await
    }

    /// Changes a flow log's name, description, aggregation interval or IP version
    /// (asynchronous: `Modifying`, then back to the status it had).
    pub async fn modify_flow_log_attribute(
        &self,
        req: &ModifyFlowLogRequest,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let id = required("flow_log_id", &req.flow_log_id)?;
        let mut params = vec![("FlowLogId".to_owned(), id.to_owned())];
        optional(&mut params, "FlowLogName", &req.flow_log_name);
        optional(&mut params, "Description", &req.description);
        optional(
            &mut params,
            "AggregationInterval",
            &req.aggregation_interval,
        );
        optional(&mut params, "IpVersion", &req.ip_version);
        self.action(
            "ModifyFlowLogAttribute",
            &req.region_id,
            &params,
            CHANGE_CONFLICT_CODES,
            opts,
        )
        .await
    }

    /// Moves a flow log to another resource group.
    pub async fn move_flow_log_resource_group(
        &self,
        region_id: &str,
        flow_log_id: &str,
        new_resource_group_id: &str,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let params = [
            (
                "ResourceId".to_owned(),
                required("flow_log_id", flow_log_id)?.to_owned(),
            ),
            (
                "NewResourceGroupId".to_owned(),
                required("resource_group_id", new_resource_group_id)?.to_owned(),
            ),
            ("ResourceType".to_owned(), FLOW_LOG_RESOURCE_TYPE.to_owned()),
        ];
        self.action(
            "MoveResourceGroup",
            region_id,
            &params,
            CHANGE_CONFLICT_CODES,
            opts,
        )
        .await
    }

    /// Adds tags to a flow log (a key it already has gets the new value).
    pub async fn tag_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        tags: &[(String, String)],
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let mut params = vec![
            (
                "ResourceId.1".to_owned(),
                required("flow_log_id", flow_log_id)?.to_owned(),
            ),
            ("ResourceType".to_owned(), FLOW_LOG_RESOURCE_TYPE.to_owned()),
        ];
        for (i, (k, v)) in tags.iter().enumerate() {
            params.push((format!("Tag.{}.Key", i + 1), k.clone()));
            params.push((format!("Tag.{}.Value", i + 1), v.clone()));
        }
        self.action(
            "TagResources",
            region_id,
            &params,
            CHANGE_CONFLICT_CODES,
            opts,
        )
        .await
    }

    /// Removes these tag keys from a flow log (never `All`: tags others manage stay).
    pub async fn untag_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        keys: &[String],
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let mut params = vec![
            (
                "ResourceId.1".to_owned(),
                required("flow_log_id", flow_log_id)?.to_owned(),
            ),
            ("ResourceType".to_owned(), FLOW_LOG_RESOURCE_TYPE.to_owned()),
        ];
        for (i, k) in keys.iter().enumerate() {
            params.push((format!("TagKey.{}", i + 1), k.clone()));
        }
        self.action(
            "UnTagResources",
            region_id,
            &params,
            CHANGE_CONFLICT_CODES,
            opts,
        )
        .await
    }

    async fn toggle(
        &self,
        action: &'static str,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        let region_id = required("region_id", region_id)?;
        let flow_log_id = required("flow_log_id", flow_log_id)?;
        let params = [("FlowLogId", flow_log_id.to_owned())];
        let req = Request {
            action,
            region_id: Some(region_id),
            params: &params,
            // Conflicts of a flow log being changed by another task clear by themselves. Status
            // errors are not retried: the resource describes the flow log again and decides.
            retry_also: TOGGLE_CONFLICT_CODES,
            creates: false,
            ahead: false,
        };
        let answer: ActionAnswer = self.transport().call(&VPC, &req, self.auth(), opts).await?;
        Ok(ActionResponse {
            request_id: answer.request_id,
        })
    }

    /// Starts a flow log (asynchronous: Inactive -> Activating -> Active).
    pub async fn active_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        self.toggle("ActiveFlowLog", region_id, flow_log_id, opts)
            .await
    }

    /// Stops a flow log (asynchronous: Active -> Deactivating -> Inactive).
    pub async fn deactive_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<ActionResponse, Error> {
        self.toggle("DeactiveFlowLog", region_id, flow_log_id, opts)
            .await
    }

    /// One page of the flow logs matching the filters (`page` counts from 1), with the
    /// total the API reports for the whole listing.
    pub async fn describe_flow_logs_page(
        &self,
        req: &DescribeFlowLogsRequest,
        page: u32,
        opts: &CallOptions,
    ) -> Result<FlowLogPage, Error> {
        let region_id = required("region_id", &req.region_id)?;
        let page_size = req
            .page_size
            .unwrap_or(MAX_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let mut params: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in [
            ("FlowLogId", &req.flow_log_id),
            ("FlowLogName", &req.flow_log_name),
            ("ResourceType", &req.resource_type),
            ("ResourceId", &req.resource_id),
            ("TrafficType", &req.traffic_type),
            ("ProjectName", &req.project_name),
            ("LogStoreName", &req.log_store_name),
            ("VpcId", &req.vpc_id),
            ("ResourceGroupId", &req.resource_group_id),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                params.push((name, v.to_owned()));
            }
        }
        if let Some(status) = req.status.as_ref().filter(|s| !s.as_str().is_empty()) {
            params.push(("Status", status.as_str().to_owned()));
        }
        params.push(("PageNumber", page.max(1).to_string()));
        params.push(("PageSize", page_size.to_string()));
        let call = Request {
            action: "DescribeFlowLogs",
            region_id: Some(region_id),
            params: &params,
            retry_also: &[],
            creates: false,
            // A page of a listing that many operations wait for (not one flow log's describe).
            ahead: req.flow_log_id.is_none(),
        };
        let answer: DescribeAnswer = self
            .transport()
            .call(&VPC, &call, self.auth(), opts)
            .await?;
        Ok(answer.into_page(page_size))
    }

    /// Every flow log matching the filters, across all pages. Once the first page has told
    /// how many there are, the rest are asked for together: each still waits its turn at the
    /// rate limiter, but the listing no longer queues once per page behind every other call,
    /// which kept the operations it serves waiting (and shifted more flow logs between pages).
    pub async fn describe_flow_logs(
        &self,
        req: &DescribeFlowLogsRequest,
        opts: &CallOptions,
    ) -> Result<Vec<FlowLog>, Error> {
        let mut all: Vec<FlowLog> = Vec::new();
        let mut ids = std::collections::HashSet::new();
        let mut next = 1;
        let mut expected = 1;
        while next <= MAX_PAGES {
            let last = expected.clamp(next, MAX_PAGES);
            let answers = futures_util::future::join_all(
                (next..=last).map(|page| self.describe_flow_logs_page(req, page, opts)),
            )
            .await;
            for (page, answer) in (next..=last).zip(answers) {
                let answer = answer?;
                let got = answer.flow_logs.len();
                for item in answer.flow_logs {
                    // A flow log created while paging shifts the pages: skip what we already
                    // have.
                    if item.flow_log_id.is_empty() || ids.insert(item.flow_log_id.clone()) {
                        all.push(item);
                    }
                }
                if got == 0
                    || got < answer.page_size as usize
                    || all.len() as u64 >= answer.total_count
                {
                    if req.flow_log_id.is_none() {
                        tracing::debug!(
                            pages = page,
                            flow_logs = all.len(),
                            status = req.status.as_ref().map(|s| s.to_string()),
                            "listed flow logs"
                        );
                    }
                    return Ok(all);
                }
                let size = u64::from(answer.page_size.max(1));
                expected = u32::try_from(answer.total_count.div_ceil(size)).unwrap_or(MAX_PAGES);
            }
            next = last + 1;
        }
        Err(Error::InvalidResponse {
            api: VPC.name,
            http_status: 200,
            reason: format!("DescribeFlowLogs kept returning full pages past page {MAX_PAGES}"),
            body_start: String::new(),
        })
    }

    /// One flow log by id; `None` when the API does not know it (an empty list, not an error).
    pub async fn describe_flow_log(
        &self,
        region_id: &str,
        flow_log_id: &str,
        opts: &CallOptions,
    ) -> Result<Option<FlowLog>, Error> {
        let flow_log_id = required("flow_log_id", flow_log_id)?;
        let req = DescribeFlowLogsRequest {
            region_id: region_id.to_owned(),
            flow_log_id: Some(flow_log_id.to_owned()),
            ..Default::default()
        };
        let all = self.describe_flow_logs(&req, opts).await?;
        Ok(all.into_iter().find(|f| f.flow_log_id == flow_log_id))
    }
}
