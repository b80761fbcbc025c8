-- json_only.lua — reject non-JSON data under /json.
--
-- A before-write hook on the /json subtree: a create or setData whose data
-- does not parse as JSON is refused with BadArguments (the client sees
-- KeeperException BadArguments) and the reason is logged with the path.
-- Empty data is allowed (ZooKeeper clients create parents with it).
local json = require("json")
local ROOT = "/json"

corral.on_write(ROOT, function(req)
  if req.op ~= "create" and req.op ~= "set" then return end
  if req.data == nil or req.data == "" then return end
  local ok, err = json.valid(req.data)
  if not ok then
    return corral.err.BadArguments, req.path .. ": data is not JSON (" .. err .. ")"
  end
end)
