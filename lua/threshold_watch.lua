-- threshold_watch.lua — watches on /metrics/* fire only when a value
-- crosses the threshold (100 by default; /metrics-threshold overrides it).
--
-- Metric nodes hold a number as text.  A NodeDataChanged event on a metric
-- reaches a session only when the old and new values lie on different sides
-- of the threshold; other changes are held back and the session's one-shot
-- watch stays armed for the next change.  Creations and deletions always
-- pass.  The old value comes from a commit hook: watches fire while a txn is
-- applied, before the commit hooks run, so `last` still holds the value the
-- change replaced.
local ROOT = "/metrics"

local function threshold()
  return tonumber((corral.get("/metrics-threshold"))) or 100
end

local last = {}
for _, name in ipairs(corral.children(ROOT) or {}) do
  last[ROOT .. "/" .. name] = tonumber((corral.get(ROOT .. "/" .. name)))
end

corral.on_watch(ROOT .. "/*", function(ev)
  if ev.type ~= "NodeDataChanged" then return true end
  local before, now = last[ev.path], tonumber((corral.get(ev.path)))
  if before == nil or now == nil then return true end
  local t = threshold()
  return (before >= t) ~= (now >= t)
end)

local function remember(op)
  if not op.path or not corral.match(ROOT .. "/*", op.path) then return end
  if op.type == "delete" then
    last[op.path] = nil
  elseif op.type == "set" or op.type == "create" then
    last[op.path] = tonumber(op.data)
  end
end

corral.on_commit(ROOT .. "/*", function(txn)
  if txn.type == "multi" then
    for _, op in ipairs(txn.ops) do remember(op) end
  else
    remember(txn)
  end
end)
