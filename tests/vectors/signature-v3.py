#!/usr/bin/env python3
"""Regenerates the cases of signature-v3.json whose "tool" is the official Python signer.

Not run by CI (it needs the Python SDK): run it by hand after a change of the cases below.

    python3 -m venv /tmp/v3venv && /tmp/v3venv/bin/pip install alibabacloud_tea_openapi
    /tmp/v3venv/bin/python tests/vectors/signature-v3.py > /tmp/python-cases.json

It calls `alibabacloud_tea_openapi.utils.Utils.get_authorization(request, sign_type,
payload, ak, secret)` (the function the Tea SDK's `do_request` signs every V3 call with) and
records, from the same package, the canonical query (`get_canonical_query_string`) and the
canonical headers and signed-header list (`get_canonicalized_headers`). The canonical request
and the string to sign are assembled here exactly as `get_authorization` assembles them, and
checked against the signature it returned, so every recorded value is the SDK's.

That signer signs every header it is given; each case gives it only `host`, `content-type`
and `x-acs-*` headers, the set the V3 rules require.
"""

import hashlib
import hmac
import json
import sys
from importlib.metadata import version
from types import SimpleNamespace

from alibabacloud_tea_openapi import utils as u
from alibabacloud_tea_openapi.utils import Utils

ALGORITHM = "ACS3-HMAC-SHA256"
DATE = "2024-05-01T08:00:00Z"
NONCE = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"


def sha256_hex(data: bytes) -> str:
    return Utils.hex_encode(Utils.hash(data, ALGORITHM))


def case(name, method, query, headers, body, key_id="testid", secret="testsecret", note=""):
    payload = sha256_hex(body.encode("utf-8"))
    hdrs = dict(headers)
    hdrs["x-acs-content-sha256"] = payload
    req = SimpleNamespace(method=method, pathname="/", query=dict(query), headers=hdrs)
    auth = Utils.get_authorization(req, ALGORITHM, payload, key_id, secret)
    cq = u.get_canonical_query_string(req.query)
    ch, signed = u.get_canonicalized_headers(req.headers)
    canonical_request = f"{method}\n/\n{cq}\n{ch}\n{signed}\n{payload}"
    string_to_sign = f"{ALGORITHM}\n{sha256_hex(canonical_request.encode('utf-8'))}"
    signature = auth.rsplit("Signature=", 1)[1]
    check = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    assert check == signature, (name, check, signature)
    out = {
        "name": name,
        "source": "computed",
        "tool": f"alibabacloud_tea_openapi {version('alibabacloud_tea_openapi')} Utils.get_authorization (Python)",
    }
    if note:
        out["note"] = note
    out.update({
        "method": method,
        "path": "/",
        "query": [[k, v] for k, v in query],
        "headers": [[k, v] for k, v in hdrs.items()],
        "body": body,
        "access_key_id": key_id,
        "secret": secret,
        "payload_hash": payload,
        "canonical_query": cq,
        "canonical_headers": ch,
        "signed_headers": signed,
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "signature": signature,
        "authorization": auth,
    })
    return out


def common(action, host="vpc.aliyuncs.com", version_="2016-04-28"):
    return [
        ("host", host),
        ("x-acs-action", action),
        ("x-acs-version", version_),
        ("x-acs-date", DATE),
        ("x-acs-signature-nonce", NONCE),
    ]


FL = "fl-m5e8vhz2t21sel1nq0000"
cases = [
    case(
        "python-published-run-instances",
        "POST",
        [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")],
        [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ],
        "",
        key_id="YourAccessKeyId",
        secret="YourAccessKeySecret",
        note="the inputs of Alibaba's published example, signed by the Python SDK: it must give the published signature",
    ),
    case(
        "python-describe-flow-logs-empty-body",
        "POST",
        [("RegionId", "cn-hangzhou"), ("FlowLogId", FL), ("PageNumber", "1"), ("PageSize", "50")],
        common("DescribeFlowLogs"),
        "",
        note="parameters in the query and no body, as the Tea SDK sends an RPC call",
    ),
    case(
        "python-active-flow-log-form-body",
        "POST",
        [],
        common("ActiveFlowLog") + [("content-type", "application/x-www-form-urlencoded")],
        f"FlowLogId={FL}&RegionId=cn-hangzhou",
        note="parameters in a form body: content-type is signed and the body's SHA-256 is the payload hash",
    ),
    case(
        "python-unicode-and-reserved-characters-get",
        "GET",
        [
            ("RegionId", "cn-hangzhou"),
            ("FlowLogName", "流日志 a+b*c~d/e=f&g%h"),
            ("Description", "!'()*:@,;$ ?#[]\"<>"),
            ("ResourceGroupId", ""),
        ],
        common("DescribeFlowLogs"),
        "",
        note="RFC 3986: only A-Za-z0-9-_.~ stay; space is %20, * is %2A, UTF-8 bytes are %XX; an empty value stays name=",
    ),
    case(
        "python-sts-security-token",
        "POST",
        [("RegionId", "cn-hangzhou"), ("FlowLogId", FL)],
        common("DeactiveFlowLog")
        + [("x-acs-accesskey-id", "STS.testid"), ("x-acs-security-token", "CAIS+token/with=chars")],
        "",
        key_id="STS.testid",
        note="temporary credentials: x-acs-security-token (and x-acs-accesskey-id, as the SDK adds it) are signed",
    ),
    case(
        "python-assume-role-sts",
        "POST",
        [("RoleArn", "acs:ram::1234567890123456:role/ci-deployer"), ("RoleSessionName", "terraform"), ("DurationSeconds", "3600")],
        common("AssumeRole", host="sts.cn-hangzhou.aliyuncs.com", version_="2015-04-01"),
        "",
        note="an STS call: the same rules, another host and version",
    ),
    case(
        "python-header-values-trimmed",
        "POST",
        [("RegionId", "cn-hangzhou")],
        [
            ("host", "vpc.aliyuncs.com"),
            ("x-acs-action", "  DescribeFlowLogs "),
            ("x-acs-version", "2016-04-28\t"),
            ("x-acs-date", DATE),
            ("x-acs-signature-nonce", NONCE),
        ],
        "",
        note="header values are trimmed in the canonical headers",
    ),
]

json.dump(cases, sys.stdout, ensure_ascii=False, indent=2)
sys.stdout.write("\n")
