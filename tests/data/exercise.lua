local t = {}
for i = 1, 1000 do t[i] = i * i end
local s = 0
for _, v in ipairs(t) do s = s + v end
print("sum", s)
print(string.format("%5.2f|%s|%q", math.pi, string.rep("ab", 3), "x\ny"))
local co = coroutine.create(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
print(coroutine.resume(co, 1)); print(coroutine.resume(co, 10))
print(type(os.time()), os.time() > 1600000000)
local f = assert(io.open("/tmp/lua_test.txt", "w")); f:write("line1\nline2\n"); f:close()
for l in io.lines("/tmp/lua_test.txt") do io.write("[", l, "]") end print()
print(table.concat({"a","b","c"}, "-"), #arg)
for w in string.gmatch("one two three", "%a+") do io.write(w:upper(), " ") end print()
