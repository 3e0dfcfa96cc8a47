-- lwtdump.lua: a Wireshark post-dissector that turns the packet comment
-- lwtdump writes into fields that can be filtered, sorted and graphed:
--
--   hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=3 cpu=1 mark=0x0
--
-- becomes lwtdump.hook, lwtdump.cookie, lwtdump.route, lwtdump.dev,
-- lwtdump.ifindex, lwtdump.cpu and lwtdump.mark under an "lwtdump" tree.
-- Packets without an lwtdump comment are left alone.
--
-- Install: lwtdump wireshark install (or copy this file into
-- ~/.local/lib/wireshark/plugins/). Try: tshark -X lua_script:lwtdump.lua
--   -r capture.pcapng -Y 'lwtdump.hook == "lwt_xmit" && lwtdump.cookie == 0xbeef'
-- Works with Wireshark 4.0 and later.

local lwtdump = Proto("lwtdump", "lwtdump capture metadata")

local f = {
	hook = ProtoField.string("lwtdump.hook", "Hook", base.ASCII, "LWT hook the packet was captured at"),
	cookie = ProtoField.uint64("lwtdump.cookie", "Cookie", base.HEX, nil, nil, "Cookie of the attachment"),
	route = ProtoField.string("lwtdump.route", "Route", base.ASCII, "Prefix of the captured route"),
	dev = ProtoField.string("lwtdump.dev", "Device", base.ASCII, "Device of the captured route"),
	ifindex = ProtoField.uint32("lwtdump.ifindex", "Ifindex", base.DEC, nil, nil, "Index of the packet's device"),
	cpu = ProtoField.uint32("lwtdump.cpu", "CPU", base.DEC, nil, nil, "CPU that ran the hook"),
	mark = ProtoField.uint32("lwtdump.mark", "Mark", base.HEX, nil, nil, "skb mark"),
}
lwtdump.fields = { f.hook, f.cookie, f.route, f.dev, f.ifindex, f.cpu, f.mark }

local comment_field = Field.new("frame.comment")

-- The keys lwtdump writes, in its fixed order, and how each becomes a field.
local keys = {
	{ "hook", "string" }, { "cookie", "uint64" }, { "route", "string" }, { "dev", "string" },
	{ "ifindex", "uint" }, { "cpu", "uint" }, { "mark", "uint" },
}

-- parse returns the key/value table of an lwtdump comment, or nil.
local function parse(comment)
	if comment:sub(1, 5) ~= "hook=" then
		return nil
	end
	local values = {}
	for key, value in comment:gmatch("(%w+)=(%S*)") do
		values[key] = value
	end
	if values.hook == nil or values.cookie == nil then
		return nil
	end
	return values
end

function lwtdump.dissector(tvb, pinfo, tree)
	for _, comment in ipairs({ comment_field() }) do
		local values = parse(tostring(comment.value))
		if values then
			local subtree = tree:add(lwtdump, tvb(0, 0), "lwtdump: " .. tostring(comment.value))
			for _, key in ipairs(keys) do
				local name, kind = key[1], key[2]
				local value = values[name]
				if value ~= nil then
					if kind == "uint64" then
						local hex = value:gsub("^0[xX]", "")
						subtree:add(f[name], tvb(0, 0), UInt64.fromhex(hex))
					elseif kind == "uint" then
						local n = tonumber(value)
						if n ~= nil then
							subtree:add(f[name], tvb(0, 0), n)
						end
					else
						subtree:add(f[name], tvb(0, 0), value)
					end
				end
			end
		end
	end
end

register_postdissector(lwtdump)
