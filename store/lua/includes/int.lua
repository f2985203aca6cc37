--[[
  Include: int(x) is an integer as text. Lua prints -0 and large numbers (1e+15) in forms HINCRBY
  refuses.
  Uses nothing but its argument.
  Returns the decimal digits of x (a string).
]]
local function int(x) return string.format('%d', x) end
