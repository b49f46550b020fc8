"""``GET /healthz`` in the OpenAPI document (views/health.py, archive.workers.health)."""
from __future__ import annotations

_COUNT = {"type": "integer", "minimum": 0}

SCHEMAS = {
    "Health": {
        "type": "object",
        "required": ["status", "database", "queues", "index", "worker"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"],
                       "description": "ok；degraded：有待办工作但没有存活的后台工作进程；"
                                      "unavailable：数据库不可达（503）"},
            "database": {"type": "object", "required": ["reachable"], "properties": {
                "reachable": {"type": "boolean"},
                "store": {"type": "string", "description": "存储类型，如 FileStorage、ClientStorage、RelStorage"},
                "error": {"type": "string"}}},
            "queues": {"type": ["object", "null"], "description": "各后台队列中等待的项数",
                       "required": ["text", "ocr", "index", "audit", "log"],
                       "properties": {"text": _COUNT, "ocr": _COUNT, "index": _COUNT,
                                      "audit": _COUNT, "log": _COUNT}},
            "index": {"type": ["object", "null"], "required": ["lag_seconds"], "properties": {
                "lag_seconds": {"type": "number", "minimum": 0,
                                "description": "检索索引落后于数据库的秒数（等待最久的档案）"}}},
            "worker": {"type": ["object", "null"],
                       "required": ["owner", "heartbeat", "heartbeat_age", "alive"],
                       "properties": {
                           "owner": {"type": ["string", "null"], "description": "持有租约的工作进程（主机:进程号:随机）"},
                           "heartbeat": {"type": ["string", "null"], "format": "date-time"},
                           "heartbeat_age": {"type": ["number", "null"], "minimum": 0},
                           "alive": {"type": "boolean"}}},
        },
    },
}

_REPORT = {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}

OPERATIONS = {"healthz": {"get": {
    "summary": "健康检查：数据库是否可达、各队列深度、索引延迟、后台工作进程的心跳（无需登录）",
    "tags": ["Meta"], "security": [],
    "responses": {"200": {"description": "数据库可达", "content": _REPORT},
                  "503": {"description": "数据库不可达", "content": _REPORT}}}}}
