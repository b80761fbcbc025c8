-- config_version.lua — /config/version counts the changes under /config.
--
-- A before-write trigger: every client write below /config (create, set,
-- delete, in a multi or not) gets one more operation, a setData of
-- /config/version, committed atomically with it.  The node's stat.version
-- is therefore the number of changes since it was created, exactly, however
-- many clients write at once (each setData bumps it in the same txn); its
-- data names the last change ("set /config/db/url").  Clients may read
-- /config/version but not set it (NoAuth).
--
-- /config/version is created together with /config, or at load when /config
-- already exists.

local CONFIG, VERSION = "/config", "/config/version"

if corral.exists(CONFIG) and not corral.exists(VERSION) then
  corral.create(VERSION, "created")
end

corral.on_write(CONFIG, function(req)
  if req.path == VERSION then
    if req.op == "delete" or req.op == "check" then return end
    return "NoAuth", VERSION .. " is maintained by config_version.lua"
  end
  if req.op == "check" then return end
  if req.path == CONFIG then
    -- /config itself: its creation brings the counter along
    if req.op == "create" then
      return {op = "create", path = VERSION, data = "created"}
    end
    return
  end
  if not corral.exists(VERSION) then return end
  return {op = "set", path = VERSION, data = req.op .. " " .. req.path}
end)
