-- json.lua — a small strict JSON decoder (RFC 8259) for hook scripts.
--
--   local json = require("json")
--   local value, err = json.decode(text)   -- nil, "message at byte N" when invalid
--   json.valid(text)                       -- true / false, err
--   json.encode(value)                     -- strings, numbers, booleans, arrays, objects
--
-- Pure Lua (the sandbox has no C modules).  json.null stands for null.
local json = {}
json.null = setmetatable({}, {__tostring = function() return "null" end})

local byte, sub, find = string.byte, string.sub, string.find
local escapes = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}

local decode_value

local function skip(s, i)
  local _, e = find(s, "^[ \t\r\n]*", i)
  return e + 1
end

local function fail(i, what)
  error({at = i, what = what}, 0)
end

local function decode_string(s, i)
  local out, n = {}, 0
  i = i + 1
  while true do
    local j = find(s, '[%z\1-\31"\\]', i)
    if not j then fail(i, "unterminated string") end
    n = n + 1
    out[n] = sub(s, i, j - 1)
    local c = sub(s, j, j)
    if c == '"' then return table.concat(out), j + 1 end
    if c ~= "\\" then fail(j, "control character in string") end
    local e = sub(s, j + 1, j + 1)
    if e == "u" then
      local hex = sub(s, j + 2, j + 5)
      if not find(hex, "^%x%x%x%x$") then fail(j, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      local nexti = j + 6
      if cp >= 0xD800 and cp <= 0xDBFF and sub(s, nexti, nexti + 1) == "\\u" then
        local lo = tonumber(sub(s, nexti + 2, nexti + 5), 16)
        if lo and lo >= 0xDC00 and lo <= 0xDFFF then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          nexti = nexti + 6
        end
      end
      n = n + 1
      out[n] = utf8.char(cp)
      i = nexti
    elseif escapes[e] then
      n = n + 1
      out[n] = escapes[e]
      i = j + 2
    else
      fail(j, "bad escape")
    end
  end
end

local function decode_number(s, i)
  local int = s:match("^-?%d+", i)
  if not int or find(int, "^-?0%d") then fail(i, "bad number") end
  local j = i + #int
  local frac = s:match("^%.%d+", j)
  if frac then j = j + #frac elseif sub(s, j, j) == "." then fail(j, "bad fraction") end
  local exp = s:match("^[eE][-+]?%d+", j)
  if exp then j = j + #exp elseif find(s, "^[eE]", j) then fail(j, "bad exponent") end
  return tonumber(sub(s, i, j - 1)), j
end

local literals = {["true"] = true, ["false"] = false, ["null"] = json.null}

function decode_value(s, i, depth)
  if depth > 200 then fail(i, "nested too deeply") end
  i = skip(s, i)
  local c = sub(s, i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if sub(s, i, i) == "}" then return obj, i + 1 end
    while true do
      if sub(s, i, i) ~= '"' then fail(i, "expected a string key") end
      local key
      key, i = decode_string(s, i)
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then fail(i, "expected ':'") end
      obj[key], i = decode_value(s, i + 1, depth + 1)
      i = skip(s, i)
      c = sub(s, i, i)
      if c == "}" then return obj, i + 1 end
      if c ~= "," then fail(i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr, n = {}, 0
    i = skip(s, i + 1)
    if sub(s, i, i) == "]" then return arr, i + 1 end
    while true do
      n = n + 1
      arr[n], i = decode_value(s, i, depth + 1)
      i = skip(s, i)
      c = sub(s, i, i)
      if c == "]" then return arr, i + 1 end
      if c ~= "," then fail(i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "-" or (c >= "0" and c <= "9" and c ~= "") then
    return decode_number(s, i)
  else
    for word, v in pairs(literals) do
      if sub(s, i, i + #word - 1) == word then return v, i + #word end
    end
    fail(i, c == "" and "unexpected end" or "unexpected character '" .. c .. "'")
  end
end

function json.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local ok, value, i = pcall(decode_value, s, 1, 0)
  if not ok then
    if type(value) == "table" then return nil, value.what .. " at byte " .. value.at end
    error(value, 0)      -- not ours (e.g. the instruction limit): let it climb
  end
  i = skip(s, i)
  if i <= #s then return nil, "trailing characters at byte " .. i end
  return value
end

function json.valid(s)
  local v, err = json.decode(s)
  if v == nil then return false, err end
  return true
end

local function encode_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(ch)
    local map = {['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}
    return map[ch] or string.format("\\u%04x", byte(ch))
  end) .. '"'
end

function json.encode(v)
  local t = type(v)
  if v == json.null or v == nil then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v)) end
    return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  elseif t == "string" then return encode_string(v)
  elseif t == "table" then
    local parts = {}
    if #v > 0 or next(v) == nil then
      for i = 1, #v do parts[i] = json.encode(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for i, k in ipairs(keys) do parts[i] = encode_string(k) .. ":" .. json.encode(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("cannot encode a " .. t)
end

return json
