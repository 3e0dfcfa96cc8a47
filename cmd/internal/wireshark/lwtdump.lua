-- lwtdump.lua: a Wireshark post-dissector that turns the packet comment
-- lwtdump writes into fields that can be filtered, sorted and graphed:
--
--   hook=lwt_xmit cookie=0xbeef route=2001:db8:20::/48 dev=r1_h2 ifindex=3 cpu=1 mark=0x0
--
-- becomes lwtdump.hook, lwtdump.cookie, lwtdump.route, lwtdump.dev (the
-- route's device), lwtdump.ifindex (the packet's interface), lwtdump.cpu and
-- lwtdump.mark under an "lwtdump" tree.
-- Packets without an lwtdump comment are left alone.
--
-- Install: lwtdump wireshark install (or copy this file into
-- ~/.local/lib/wireshark/plugins/). Try: tshark -X lua_script:lwtdump.lua
--   -r capture.pcapng -Y 'lwtdump.hook == "lwt_xmit" && lwtdump.cookie == 0xbeef'
-- Works with Wireshark 4.0 and later.

local lwtdump = Proto("lwtdump", "lwtdump capture metadata")

-- ProtoField.new takes the description last for every type: Wireshark 4.0
-- drops that of ProtoField.string, which the status bar then lacks. "dev"
-- is the route's device, "ifindex" the packet's interface: at lwt_in they
-- differ, and the names say which is which.
local f = {
	hook = ProtoField.new("Hook", "lwtdump.hook", ftypes.STRING, nil, base.ASCII, nil,
		"LWT hook the packet was captured at: lwt_in, lwt_out, lwt_xmit or lwt_seg6local (SRv6 End.BPF)"),
	cookie = ProtoField.new("Cookie", "lwtdump.cookie", ftypes.UINT64, nil, base.HEX, nil,
		"Cookie of the attachment (route and hook) that captured the packet"),
	route = ProtoField.new("Route", "lwtdump.route", ftypes.STRING, nil, base.ASCII, nil,
		"Prefix of the captured route"),
	dev = ProtoField.new("Route device", "lwtdump.dev", ftypes.STRING, nil, base.ASCII, nil,
		"Device of the captured route (its nexthop's); not the packet's interface, which lwtdump.ifindex gives"),
	ifindex = ProtoField.new("Packet interface index", "lwtdump.ifindex", ftypes.UINT32, nil, base.DEC, nil,
		"Index of the packet's interface as the hook saw it: the input interface at lwt_in and lwt_seg6local, the output interface at lwt_xmit, at lwt_out the input interface of a forwarded packet (0 for one the host sends)"),
	cpu = ProtoField.new("CPU", "lwtdump.cpu", ftypes.UINT32, nil, base.DEC, nil, "CPU that ran the hook"),
	mark = ProtoField.new("Mark", "lwtdump.mark", ftypes.UINT32, nil, base.HEX, nil, "skb mark of the packet"),
}
lwtdump.fields = { f.hook, f.cookie, f.route, f.dev, f.ifindex, f.cpu, f.mark }

local comment_field = Field.new("frame.comment")

-- The keys lwtdump writes, in its fixed order, and how each becomes a field.
-- The hex ones are shown as the comment writes them (0x2, not Wireshark's
-- zero-padded 0x0000000000000002), so that tree and comment agree.
local keys = {
	{ "hook", "string" }, { "cookie", "uint64", "Cookie" }, { "route", "string" }, { "dev", "string" },
	{ "ifindex", "uint" }, { "cpu", "uint" }, { "mark", "uint", "Mark" },
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
				local name, kind, label = key[1], key[2], key[3]
				local value = values[name]
				if value ~= nil then
					local item
					if kind == "uint64" then
						local hex = value:gsub("^0[xX]", "")
						item = subtree:add(f[name], tvb(0, 0), UInt64.fromhex(hex))
					elseif kind == "uint" then
						local n = tonumber(value)
						if n ~= nil then
							item = subtree:add(f[name], tvb(0, 0), n)
						end
					else
						subtree:add(f[name], tvb(0, 0), value)
					end
					if item ~= nil and label ~= nil then
						item:set_text(label .. ": " .. value)
					end
				end
			end
		end
	end
end

register_postdissector(lwtdump)
