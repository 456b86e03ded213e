/* A real library: Lua 5.4, compiled from the source the lua-src crate ships
 * (build.sh says where it comes from, and why lua-nojmp/ is on the include
 * path). Runs the script below, which mixes what Lua programs do: table
 * algorithms (a sieve, sorting with a comparator, a hash-keyed word count),
 * string building and pattern matching, closures, and a small class system
 * with metatables and inheritance, all in integers. The script returns a
 * checksum of its work. Only the base, string, table and math libraries are
 * opened: nothing that needs what WASI lacks. */
#include "common.h"
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static const char script[] =
    "local N = ...\n"
    "local h = 0\n"
    "local function mix(v) h = (h ~ v) * 1099511628211 + 7 end\n"
    "local seed = 12345\n"
    "local function rand(n)\n"
    "  seed = (seed * 6364136223846793005 + 1442695040888963407)\n"
    "  return ((seed >> 33) % n) + 1\n"
    "end\n"
    /* A sieve of Eratosthenes in a table used as an array. */
    "local function sieve(n)\n"
    "  local composite, count, sum = {}, 0, 0\n"
    "  for i = 2, n do\n"
    "    if not composite[i] then\n"
    "      count = count + 1; sum = sum + i\n"
    "      for j = i * i, n, i do composite[j] = true end\n"
    "    end\n"
    "  end\n"
    "  return count, sum\n"
    "end\n"
    /* Records sorted by a comparator with a total order (table.sort is not
     * stable), then summarised. */
    "local function records(n)\n"
    "  local t = {}\n"
    "  for i = 1, n do t[i] = {id = i, group = rand(50), weight = rand(1000)} end\n"
    "  table.sort(t, function(a, b)\n"
    "    if a.group ~= b.group then return a.group < b.group end\n"
    "    if a.weight ~= b.weight then return a.weight > b.weight end\n"
    "    return a.id < b.id\n"
    "  end)\n"
    "  for i = 1, n, 97 do mix(t[i].id) end\n"
    "  return t[1].id, t[n].id\n"
    "end\n"
    /* String building and patterns: make text, count words in a table keyed
     * by string, rebuild it with gsub and format. */
    "local syllables = {'ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze'}\n"
    "local function text(n)\n"
    "  local words = {}\n"
    "  for i = 1, n do\n"
    "    local parts = {}\n"
    "    for k = 1, rand(3) do parts[k] = syllables[rand(#syllables)] end\n"
    "    words[i] = table.concat(parts)\n"
    "  end\n"
    "  local s = table.concat(words, ' ')\n"
    "  local counts, distinct = {}, 0\n"
    "  for w in s:gmatch('%a+') do\n"
    "    local c = counts[w]\n"
    "    if not c then distinct = distinct + 1 end\n"
    "    counts[w] = (c or 0) + 1\n"
    "  end\n"
    "  local keys = {}\n"
    "  for w in pairs(counts) do keys[#keys + 1] = w end\n"
    "  table.sort(keys)\n"
    "  local out = {}\n"
    "  for i, w in ipairs(keys) do\n"
    "    out[i] = string.format('%s=%d', w:upper(), counts[w])\n"
    "  end\n"
    "  local joined = table.concat(out, ',')\n"
    "  local swapped, n_swaps = s:gsub('(%a)(%a)(%a*)', '%2%1%3')\n"
    "  local vowels = select(2, swapped:gsub('[aeiou]', ''))\n"
    "  for i = 1, #joined, 13 do mix(joined:byte(i)) end\n"
    "  mix(#swapped); mix(n_swaps); mix(vowels)\n"
    "  local first = s:find('zeze', 1, true) or 0\n"
    "  return distinct, #joined, first\n"
    "end\n"
    /* Closures: counters, composition, memoisation. */
    "local function closures(n)\n"
    "  local function counter(step)\n"
    "    local c = 0\n"
    "    return function() c = c + step; return c end\n"
    "  end\n"
    "  local function compose(f, g) return function(x) return f(g(x)) end end\n"
    "  local memo = {}\n"
    "  local function collatz(x)\n"
    "    if x == 1 then return 0 end\n"
    "    local m = memo[x]\n"
    "    if m then return m end\n"
    "    local r = 1 + collatz(x % 2 == 0 and x // 2 or 3 * x + 1)\n"
    "    memo[x] = r\n"
    "    return r\n"
    "  end\n"
    "  local counters = {}\n"
    "  for i = 1, 16 do counters[i] = counter(i) end\n"
    "  local f = compose(function(x) return x * 3 end, function(x) return x + 1 end)\n"
    "  local total, longest = 0, 0\n"
    "  for i = 1, n do\n"
    "    total = total + counters[i % 16 + 1]() + f(i)\n"
    "    local c = collatz(i)\n"
    "    if c > longest then longest = c end\n"
    "  end\n"
    "  return total, longest\n"
    "end\n"
    /* Classes with metatables: a base class, inheritance through __index,
     * operators, and virtual calls over a heterogeneous list. */
    "local Shape = {}\n"
    "Shape.__index = Shape\n"
    "function Shape.new(cls, name) return setmetatable({name = name}, cls) end\n"
    "function Shape:describe() return self.name .. ':' .. self:area() end\n"
    "local function subclass(base)\n"
    "  local cls = setmetatable({}, {__index = base})\n"
    "  cls.__index = cls\n"
    "  return cls\n"
    "end\n"
    "local Rect = subclass(Shape)\n"
    "function Rect.new(w, hgt) local r = Shape.new(Rect, 'rect'); r.w, r.h = w, hgt; return r end\n"
    "function Rect:area() return self.w * self.h end\n"
    "local Square = subclass(Rect)\n"
    "function Square.new(s) local r = Rect.new(s, s); r.name = 'square'; return setmetatable(r, Square) end\n"
    "local Tri = subclass(Shape)\n"
    "function Tri.new(b, hgt) local t = Shape.new(Tri, 'tri'); t.b, t.h = b, hgt; return t end\n"
    "function Tri:area() return self.b * self.h // 2 end\n"
    "local Vec = {}\n"
    "Vec.__index = Vec\n"
    "local function vec(x, y) return setmetatable({x = x, y = y}, Vec) end\n"
    "Vec.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end\n"
    "Vec.__mul = function(a, k) return vec(a.x * k, a.y * k) end\n"
    "Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end\n"
    "Vec.__lt = function(a, b) return a:len2() < b:len2() end\n"
    "function Vec:len2() return self.x * self.x + self.y * self.y end\n"
    "local function classes(n)\n"
    "  local shapes, kinds = {}, {Rect, Square, Tri}\n"
    "  for i = 1, n do\n"
    "    local k = rand(3)\n"
    "    if k == 1 then shapes[i] = Rect.new(rand(100), rand(100))\n"
    "    elseif k == 2 then shapes[i] = Square.new(rand(100))\n"
    "    else shapes[i] = Tri.new(rand(100), rand(100)) end\n"
    "  end\n"
    "  local area, descr = 0, 0\n"
    "  for i = 1, n do\n"
    "    local s = shapes[i]\n"
    "    area = area + s:area()\n"
    "    if i % 10 == 0 then descr = descr + #s:describe() end\n"
    "  end\n"
    "  local acc, equal, less = vec(0, 0), 0, 0\n"
    "  local prev = vec(0, 0)\n"
    "  for i = 1, n do\n"
    "    local v = vec(rand(21) - 11, rand(21) - 11) * 3\n"
    "    acc = acc + v\n"
    "    if v == prev then equal = equal + 1 end\n"
    "    if v < prev then less = less + 1 end\n"
    "    prev = v\n"
    "  end\n"
    "  mix(#kinds)\n"
    "  return area, descr, acc.x, acc.y, equal, less\n"
    "end\n"
    "local results = {}\n"
    "for round = 1, 4 do\n"
    "  local r = {sieve(60000 * N)}\n"
    "  for _, v in ipairs({records(4000 * N)}) do r[#r + 1] = v end\n"
    "  for _, v in ipairs({text(6000 * N)}) do r[#r + 1] = v end\n"
    "  for _, v in ipairs({closures(8000 * N)}) do r[#r + 1] = v end\n"
    "  for _, v in ipairs({classes(8000 * N)}) do r[#r + 1] = v end\n"
    "  for _, v in ipairs(r) do mix(v) end\n"
    "  results = r\n"
    "end\n"
    "print(table.concat(results, ' '))\n"
    "return h\n";

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 4);
    lua_State *L = luaL_newstate();
    if (!L) {
        printf("out of memory\n");
        return 1;
    }
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},
    };
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    if (luaL_loadbuffer(L, script, sizeof script - 1, "=bench") != LUA_OK) {
        printf("%s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushinteger(L, scale);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        printf("%s\n", lua_tostring(L, -1));
        return 1;
    }
    print_checksum("lua", (uint64_t)lua_tointeger(L, -1));
    lua_close(L);
    return 0;
}
