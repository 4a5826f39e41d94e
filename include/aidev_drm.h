/*
 * aidev_drm.h - the aicard kernel contract.
 *
 * Everything the host stack and a card agree on lives here: ioctl numbers and
 * their argument structs, the mmap regions of a channel, channel registers,
 * ring (push buffer) opcodes and the header-word encoding, the fence page and
 * the code-object metadata the compute engine reads.  The Python stack parses
 * this file with cffi, so outside the include guard and the ioctl-request
 * macros every #define is a plain integer literal.
 */
#ifndef AIDEV_DRM_H
#define AIDEV_DRM_H

#include <stdint.h>
#include <linux/ioctl.h>

/* ---- device files ------------------------------------------------------ */
/* Cards appear as /dev/aicard<N>. */
#define AIDEV_MAX_CARDS            16

/* ---- ioctl numbers: request = _IOWR(AIDEV_IOCTL_TYPE, nr, struct) ------- */
#define AIDEV_IOCTL_TYPE           0x41
#define AIDEV_NR_GET_INFO          0x00
#define AIDEV_NR_GEM_NEW           0x01
#define AIDEV_NR_GEM_FREE          0x02
#define AIDEV_NR_GEM_INFO          0x03
#define AIDEV_NR_CHANNEL_ALLOC     0x04
#define AIDEV_NR_CHANNEL_FREE      0x05
#define AIDEV_NR_FENCE_WAIT        0x06
#define AIDEV_NR_GEM_ALIAS         0x07
#define AIDEV_NR_GEM_USERPTR       0x08
#define AIDEV_NR_SHM_GET           0x09
#define AIDEV_NR_SHM_ATTACH        0x0a
#define AIDEV_NR_SHM_CTL           0x0b
#define AIDEV_NR_HOST_COPY         0x0c

#define AIDEV_IOCTL_GET_INFO       _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GET_INFO, struct aidev_device_info)
#define AIDEV_IOCTL_GEM_NEW        _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GEM_NEW, struct aidev_gem_new)
#define AIDEV_IOCTL_GEM_FREE       _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GEM_FREE, struct aidev_gem_free)
#define AIDEV_IOCTL_GEM_INFO       _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GEM_INFO, struct aidev_gem_info)
#define AIDEV_IOCTL_CHANNEL_ALLOC  _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_CHANNEL_ALLOC, struct aidev_channel_alloc)
#define AIDEV_IOCTL_CHANNEL_FREE   _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_CHANNEL_FREE, struct aidev_channel_free)
#define AIDEV_IOCTL_FENCE_WAIT     _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_FENCE_WAIT, struct aidev_fence_wait)
#define AIDEV_IOCTL_GEM_ALIAS      _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GEM_ALIAS, struct aidev_gem_alias)
#define AIDEV_IOCTL_GEM_USERPTR    _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_GEM_USERPTR, struct aidev_gem_userptr)
#define AIDEV_IOCTL_SHM_GET        _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_SHM_GET, struct aidev_shm_get)
#define AIDEV_IOCTL_SHM_ATTACH     _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_SHM_ATTACH, struct aidev_shm_attach)
#define AIDEV_IOCTL_SHM_CTL        _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_SHM_CTL, struct aidev_shm_ctl)
#define AIDEV_IOCTL_HOST_COPY      _IOWR(AIDEV_IOCTL_TYPE, AIDEV_NR_HOST_COPY, struct aidev_host_copy)

/* ---- device information ------------------------------------------------ */
struct aidev_device_info {
    uint32_t card_index;
    uint32_t chip_id;
    uint64_t vram_base;              /* device address of VRAM byte 0 */
    uint64_t vram_size;
    uint64_t vram_used;
    uint64_t gart_base;              /* device address window of host (GART) buffers */
    uint64_t gart_size;
    uint32_t spe_arrays;             /* SPE arrays per card */
    uint32_t spes_per_array;         /* SPEs (threads) in one array */
    uint32_t warp_size;
    uint32_t max_threads_per_block;
    uint32_t max_block_dim[3];
    uint32_t max_grid_dim[3];
    uint32_t shared_mem_per_block;
    uint32_t const_mem_size;
    uint32_t regs_per_block;
    uint32_t clock_khz;
    uint32_t memory_clock_khz;
    uint32_t memory_bus_width;
    uint32_t compute_major;
    uint32_t compute_minor;
    uint32_t pci_bus;
    uint32_t pci_device;
    uint32_t max_channels;
    uint32_t channels_in_use;
    char name[64];
};

/* ---- buffer objects (GEM) ---------------------------------------------- */
#define AIDEV_GEM_DOMAIN_VRAM      1   /* card memory */
#define AIDEV_GEM_DOMAIN_HOST      2   /* host memory the card reaches by DMA (GART) */
#define AIDEV_GEM_DOMAIN_USER      3   /* host memory the caller already has (GEM_USERPTR) */

struct aidev_gem_new {
    uint64_t size;                   /* in: bytes (rounded up to a page) */
    uint32_t domain;                 /* in: AIDEV_GEM_DOMAIN_* */
    uint32_t flags;                  /* in: 0 */
    uint32_t handle;                 /* out */
    uint32_t pad;
    uint64_t addr;                   /* out: device address */
    uint64_t map_offset;             /* out: mmap offset of the buffer's host view (VRAM: the aperture) */
};

struct aidev_gem_free {
    uint32_t handle;                 /* in */
    uint32_t pad;
    uint64_t size;                   /* out: bytes released */
};

struct aidev_gem_info {
    uint32_t handle;                 /* in */
    uint32_t domain;                 /* out */
    uint64_t size;                   /* out */
    uint64_t addr;                   /* out */
    uint64_t map_offset;             /* out */
};

/* A buffer's second device address: the card also answers device addresses
 * [host_addr, host_addr + size) with the buffer's bytes, so that a pointer the
 * host uses (its mapping of the buffer) works in kernels too (one address for
 * host and card: managed memory).  host_addr must be page-aligned, below the
 * card's address slices (a host address) and overlap nothing the card maps; a
 * buffer has at most one alias, removed when the buffer is freed. */
struct aidev_gem_alias {
    uint32_t handle;                 /* in */
    uint32_t pad;
    uint64_t host_addr;              /* in: the device address to add (the host's mapping) */
    uint64_t size;                   /* out: bytes it covers (the buffer's size) */
};

/* A buffer object made of host memory the caller already has (pinning it):
 * the card reaches [host_addr, host_addr + size) at those same addresses.  The
 * range must lie below the card's address slices and overlap nothing the card
 * maps; it stays the caller's memory (GEM_FREE only forgets it). */
struct aidev_gem_userptr {
    uint64_t host_addr;              /* in */
    uint64_t size;                   /* in */
    uint32_t handle;                 /* out */
    uint32_t pad;
    uint64_t addr;                   /* out: device address (== host_addr) */
};

/* ---- shared segments ----------------------------------------------------- */
/* A segment is a VRAM buffer object of the card that every open of the card can
 * attach (Gdev's gshm*, keyed like System V IPC; gref).  SHM_GET finds the
 * segment of `key` on this card or, with AIDEV_SHM_CREATE, makes one (key 0:
 * always a new one that no key finds); with AIDEV_SHM_EXPORT it makes a keyless
 * segment of the caller's buffer `handle` instead, which that handle then
 * attaches.  SHM_ATTACH gives the caller a buffer handle of the segment (the
 * same device address for every open); GEM_FREE of that handle detaches.
 * SHM_CTL AIDEV_SHM_RMID removes the key (no SHM_GET finds the segment again).
 * A segment is freed when nothing attaches it and it is removed or no open that
 * got it is left: closing an open detaches everything it attached.
 * Errors: -ENOENT no such key / id, -EEXIST key exists (CREATE|EXCL), -EINVAL
 * size 0 or larger than the segment, bad flags, an attached or foreign handle
 * to export, an unknown command; -ENOMEM. */
#define AIDEV_SHM_CREATE           1
#define AIDEV_SHM_EXCL             2
#define AIDEV_SHM_EXPORT           4
#define AIDEV_SHM_RMID             0
#define AIDEV_SHM_STAT             2

struct aidev_shm_get {
    uint32_t key;                    /* in (0: private) */
    uint32_t flags;                  /* in: AIDEV_SHM_* */
    uint64_t size;                   /* in: bytes (CREATE), at most the segment's (finding one) */
    uint32_t handle;                 /* in: the buffer to share (EXPORT) */
    uint32_t id;                     /* out: the segment, card-wide */
    uint64_t seg_size;               /* out: the segment's bytes */
};

struct aidev_shm_attach {
    uint32_t id;                     /* in */
    uint32_t handle;                 /* out: a buffer handle of this open */
    uint64_t size;                   /* out */
    uint64_t addr;                   /* out: device address (the same for every open) */
    uint64_t map_offset;             /* out: mmap offset of its host view */
};

struct aidev_shm_ctl {
    uint32_t id;                     /* in */
    uint32_t cmd;                    /* in: AIDEV_SHM_RMID or AIDEV_SHM_STAT */
    uint64_t size;                   /* out: the segment's bytes */
    uint32_t attached;               /* out: attachments, every open together */
    uint32_t pad;
};

/* ---- copies with the caller's own memory ------------------------------- */
/* A copy between device memory [addr, addr + size) (one buffer object) and the
 * caller's pageable memory [host_addr, host_addr + size), done now by the card
 * with no bounce buffer, as a driver's copy_from_user/copy_to_user: it has
 * ended when the ioctl returns.  It is not ordered with the caller's channels:
 * the caller waits for them first.  Errors: -EFAULT part of the host range is
 * not the caller's memory (nothing is reported about how much was copied),
 * -EINVAL a device range outside one buffer object or bad flags, -EPERM the card
 * may not reach the caller's memory (ptrace rules), -ENOSYS a card in the
 * caller's own process (it copies itself). */
#define AIDEV_HOST_COPY_TO_HOST    1   /* device -> host; host -> device without it */

struct aidev_host_copy {
    uint64_t addr;                   /* in: device address */
    uint64_t host_addr;              /* in: the caller's address */
    uint64_t size;                   /* in: bytes */
    uint32_t flags;                  /* in: AIDEV_HOST_COPY_* */
    uint32_t pad;
};

/* ---- channels ----------------------------------------------------------- */
/* A channel is a ring of 64-bit words (the push buffer), a page of 32-bit
 * registers and a fence page, each mapped into the host at its mmap offset. */
#define AIDEV_PB_WORDS             65536
#define AIDEV_FENCE_SLOTS          1024

struct aidev_channel_alloc {
    uint32_t channel;                /* out */
    uint32_t pb_words;               /* out: ring size in 64-bit words */
    uint64_t pb_offset;              /* out: mmap offset of the push buffer */
    uint64_t regs_offset;            /* out: mmap offset of the register page */
    uint64_t fence_offset;           /* out: mmap offset of the fence page */
    uint64_t fence_addr;             /* out: device address of the fence page */
};

struct aidev_channel_free {
    uint32_t channel;                /* in */
    uint32_t pad;
};

/* Block until fence[slot] >= seq on the channel, the channel faults, or the
 * timeout passes (timeout_ms 0 = poll once).  The ioctl returns 0 when the
 * fence was reached, -ETIMEDOUT on timeout and -EIO when the channel faulted. */
struct aidev_fence_wait {
    uint32_t channel;                /* in */
    uint32_t slot;                   /* in */
    uint64_t seq;                    /* in */
    uint32_t timeout_ms;             /* in */
    uint32_t status;                 /* out: the channel's AIDEV_REG_STATUS */
};

/* ---- channel registers (32-bit word index into the register page) ------- */
#define AIDEV_REG_PB_PUT           0   /* host writes: ring words published */
#define AIDEV_REG_PB_GET           1   /* card writes: ring words consumed */
#define AIDEV_REG_STATUS           2   /* card writes: AIDEV_STATUS_* */
#define AIDEV_REG_FAULT_OP         3   /* card writes: opcode of the faulting command */
#define AIDEV_REG_WAKE             4   /* card writes: bumped after each fence and status change */
#define AIDEV_REG_CP_IDLE          5   /* card writes: 1 while its command processor sleeps on PB_PUT */
#define AIDEV_REG_HOST_WAITING     6   /* host sets 1 before sleeping on REG_WAKE; the card wakes it then */
#define AIDEV_REG_HOST_CPU         7   /* host writes: 1 + the CPU its last fence wait ran on (0: none) */
#define AIDEV_REG_CARD_CPU         8   /* card writes: 1 + the CPU its processor last waited on (0: none) */
#define AIDEV_REG_COUNT            16

/* PB_PUT and PB_GET count words since channel creation; a word lives at
 * ring[count % pb_words].  The register page is shared memory: writing PB_PUT
 * and then a futex wake on it rings the doorbell; the card's command processor
 * sleeps on PB_PUT with a futex, and host waiters sleep on REG_WAKE.  The wake is
 * needed only while REG_CP_IDLE is 1: a busy processor reads PB_PUT again anyway. */

#define AIDEV_STATUS_OK            0
#define AIDEV_STATUS_DMA_FAULT     1   /* a copy touched memory no buffer backs */
#define AIDEV_STATUS_COMPUTE_FAULT 2   /* a kernel faulted or trapped */
#define AIDEV_STATUS_BAD_COMMAND   3   /* malformed ring word */

/* ---- ring protocol ------------------------------------------------------ */
/* Header word: (op << 40) | (fn << 32) | (sid << 8) | n, followed by n
 * argument words.  sid is the stream (sub-channel) the command belongs to. */
#define AIDEV_HDR_OP_SHIFT         40
#define AIDEV_HDR_FN_SHIFT         32
#define AIDEV_HDR_SID_SHIFT        8
#define AIDEV_HDR_N_MASK           0xff
#define AIDEV_HDR_SID_MASK         0xffffff
#define AIDEV_HDR_FN_MASK          0xff
#define AIDEV_HDR_OP_MASK          0xffff

#define AIDEV_OP_NOP               0   /* args ignored */
#define AIDEV_OP_MEMCPY            1   /* dst, src, bytes */
#define AIDEV_OP_MEMSET            2   /* fn = element bytes (1,2,4); dst, value, count */
#define AIDEV_OP_COMPUTE           3   /* struct aidev_compute words, then parameter words */
#define AIDEV_OP_FENCE             4   /* slot, seq: write seq and a timestamp to the fence page */
#define AIDEV_OP_ACQUIRE           5   /* address, value: wait until the u64 at address >= value */
#define AIDEV_OP_MEMBAR            6   /* wait until every earlier command's writes are visible */
#define AIDEV_OP_NOTIFY            7   /* slot: wake host waiters of the fence slot */
#define AIDEV_OP_PREPARE           8   /* code address, code size: compile its kernels, no wait */

/* Inline launch descriptor of AIDEV_OP_COMPUTE.  code_addr points at a code
 * object (see below) in device memory; entry indexes its kernel table. */
struct aidev_compute {
    uint64_t code_addr;
    uint64_t code_size;
    uint32_t entry;
    uint32_t param_size;             /* bytes of parameter words that follow */
    uint32_t grid[3];
    uint32_t block[3];
    uint32_t shared_size;            /* dynamic shared memory bytes */
    uint32_t local_size;             /* per-thread local memory bytes */
    uint64_t globals_addr;           /* device memory holding module-scope variables */
    uint64_t grid_sync;              /* a cooperative launch: device address of a zeroed 32-bit
                                        word pair its grid-wide barriers count in, the kernel's
                                        %envreg1:%envreg2 (high:low); every block is resident
                                        at once.  0: not cooperative (%envreg1/2 read 0). */
};

/* ---- fence page ---------------------------------------------------------- */
struct aidev_fence_page {
    uint64_t seq[AIDEV_FENCE_SLOTS];
    uint64_t time_ns[AIDEV_FENCE_SLOTS];
};

/* ---- code object ("cubin") ---------------------------------------------- */
/* An ELF64 little-endian relocatable file with e_machine AIDEV_ELF_MACHINE and
 * these sections; section headers sit at the end, so the image size is
 * e_shoff + e_shnum * e_shentsize.                                           */
/*   .aidev.ptx      PTX text, NUL-terminated                                */
/*   .aidev.kernels  struct aidev_kernel_desc[]                              */
/*   .aidev.params   struct aidev_param_desc[]                               */
/*   .aidev.globals  struct aidev_global_desc[]                              */
/*   .aidev.data     initial bytes of the module's globals block             */
/*   .strtab         names                                                   */
#define AIDEV_ELF_MACHINE          0x4144
#define AIDEV_ELF_VERSION          1

struct aidev_kernel_desc {
    uint32_t name;                   /* offset in .strtab */
    uint32_t first_param;            /* index in .aidev.params */
    uint32_t param_count;
    uint32_t param_size;             /* bytes of the packed parameter buffer */
    uint32_t shared_size;            /* static shared memory bytes */
    uint32_t local_size;             /* static local (stack) bytes per thread */
    uint32_t max_threads;            /* .maxntid product, 0 = card limit */
    uint32_t flags;
};

struct aidev_param_desc {
    uint32_t offset;                 /* byte offset in the parameter buffer */
    uint32_t size;
    uint32_t align;
    uint32_t pad;
};

struct aidev_global_desc {
    uint32_t name;                   /* offset in .strtab */
    uint32_t space;                  /* AIDEV_SPACE_* */
    uint64_t size;
    uint32_t align;
    uint32_t pad;
    uint64_t offset;                 /* offset in the module's globals block */
};

#define AIDEV_SPACE_GLOBAL         1
#define AIDEV_SPACE_CONST          2

/* ---- texture descriptor ---------------------------------------------------- */
/* A PTX texture handle (tex.1d/2d/3d's first address operand, a CUDA texture object)
 * is the device address of one of these, in device memory the kernel may read; the
 * engines fetch texels through it with point sampling, or linear filtering under
 * AIDEV_TEX_LINEAR.  Elements are `channels`
 * channels of `channel_bytes` bytes each, rows `pitch` bytes apart from `base`. */
#define AIDEV_TEX_SIGNED           0   /* kind: two's complement integers */
#define AIDEV_TEX_UNSIGNED         1
#define AIDEV_TEX_FLOAT            2   /* IEEE binary32, or binary16 with 2-byte channels */
#define AIDEV_TEX_WRAP             0   /* address modes (normalized coordinates only, else CLAMP) */
#define AIDEV_TEX_CLAMP            1
#define AIDEV_TEX_MIRROR           2
#define AIDEV_TEX_BORDER           3   /* out of range reads border[] */
/* flags: INDEXED: integer coordinates index linear memory, out of range reads 0 (tex1Dfetch) */
#define AIDEV_TEX_INDEXED          1
#define AIDEV_TEX_NORMALIZED_COORDS 2  /* coordinates in [0, 1) span the width and height */
#define AIDEV_TEX_NORMALIZED_READ  4   /* integer channels read as floats in [0, 1] or [-1, 1] */
/* float fetches (not INDEXED) blend the 2 (1-D), 4 (2-D) or 8 (3-D) texels around the coordinate
 * less half a texel, weights in 9-bit fixed point (8 fractional bits, rounded to nearest) */
#define AIDEV_TEX_LINEAR           8

struct aidev_texture {
    uint64_t base;                   /* device address of element (0, 0) */
    uint64_t pitch;                  /* bytes from one row to the next */
    uint32_t width;                  /* elements */
    uint32_t height;                 /* rows (1 for a 1-D texture) */
    uint32_t depth;                  /* slices of `height` rows (1 but for a 3-D texture) */
    uint32_t channels;               /* 1..4 */
    uint32_t channel_bytes;          /* 1, 2 or 4 */
    uint32_t kind;                   /* AIDEV_TEX_SIGNED / _UNSIGNED / _FLOAT */
    uint32_t flags;                  /* AIDEV_TEX_INDEXED | _NORMALIZED_COORDS | _NORMALIZED_READ | _LINEAR */
    uint32_t address_mode[3];        /* x, y, z: AIDEV_TEX_WRAP .. _BORDER */
    float    border[4];
};

#endif /* AIDEV_DRM_H */
