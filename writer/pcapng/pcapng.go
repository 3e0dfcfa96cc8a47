// Package pcapng holds the block types and option codes of the pcapng
// format (draft-ietf-opsawg-pcapng) that lwtdump writes and reads: one
// definition for the writer and for the reader of captures.
package pcapng

// Block types.
const (
	BlockSHB = 0x0a0d0d0a // Section Header Block
	BlockIDB = 0x00000001 // Interface Description Block
	BlockPB  = 0x00000002 // Packet Block (obsolete)
	BlockSPB = 0x00000003 // Simple Packet Block
	BlockISB = 0x00000005 // Interface Statistics Block
	BlockEPB = 0x00000006 // Enhanced Packet Block
)

// ByteOrderMagic is the section header's byte-order magic.
const ByteOrderMagic = 0x1a2b3c4d

// Options of every block.
const (
	OptEnd     = 0 // opt_endofopt
	OptComment = 1 // opt_comment
)

// Options of the Section Header Block.
const (
	OptSHBHardware = 2
	OptSHBOS       = 3
	OptSHBUserAppl = 4
)

// Options of the Interface Description Block.
const (
	OptIfName        = 2
	OptIfDescription = 3
	OptIfTsresol     = 9
	OptIfFilter      = 11
	OptIfOS          = 12
	OptIfTsoffset    = 14
)

// Options of the Enhanced Packet Block.
const OptEPBFlags = 2

// Direction bits of epb_flags.
const (
	FlagInbound  = 1
	FlagOutbound = 2
)

// Options of the Interface Statistics Block.
const (
	OptISBStartTime    = 2
	OptISBEndTime      = 3
	OptISBIfRecv       = 4
	OptISBIfDrop       = 5
	OptISBFilterAccept = 6
	OptISBOSDrop       = 7
	OptISBUsrDeliv     = 8
)
