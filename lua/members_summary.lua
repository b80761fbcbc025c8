-- members_summary.lua — mirror the ephemeral members under /members into
-- one summary node, /members-summary, as JSON: {"count":N,"members":[...]}.
--
-- A member joins or leaves by creating or deleting its ephemeral node, or
-- leaves when its session closes or expires (the core deletes the node in
-- the closeSession txn, which names no path: the session hook catches it).
-- After each such commit the summary is recomputed from the committed tree
-- and written through the normal write path (a queued write), so watchers of
-- /members-summary see one node change instead of watching every member.
local json = require("json")
local MEMBERS, SUMMARY = "/members", "/members-summary"

-- What we last queued: writes are compared against it, not against the tree,
-- which may not have caught up with a write still in flight.
local last_written = corral.get(SUMMARY)
local exists = corral.exists(SUMMARY)

local function refresh()
  -- commit hooks run on every server of an ensemble: only the one in charge writes
  if not corral.in_charge() then return end
  local names = corral.children(MEMBERS) or {}
  local text = json.encode({count = #names, members = names})
  if text == last_written then return end
  if exists then
    corral.set(SUMMARY, text)
  else
    corral.create(SUMMARY, text)
    exists = true
  end
  last_written = text
end

corral.on_commit(MEMBERS, function(txn)
  if txn.type ~= "set" then refresh() end     -- creates, deletes, multis
end)

corral.on_session(function(session, opened)
  if not opened then refresh() end
end)

refresh()
