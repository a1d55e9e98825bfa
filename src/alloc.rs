//! The global allocator: mimalloc, asked through its plain `mi_malloc` / `mi_realloc` wherever
//! the layout needs no more alignment than mimalloc gives every block (16 bytes for blocks of 16
//! bytes or more, the block's size below that), and through its aligned calls otherwise.
//!
//! The `mimalloc` crate's allocator asks `mi_malloc_aligned` for every allocation. mimalloc 3
//! serves an aligned request above 1 KiB (a send's boxed future, a spawned task, a frame buffer)
//! through its generic path, which over-allocates and searches: about 200 instructions each,
//! six times per send (callgrind, 256 in flight). Asked plainly, a send took 23,129 -> 22,198
//! instructions.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// `MI_MAX_ALIGN_SIZE`: mimalloc aligns every block of at least this size to it (its bins are
/// multiples of two words from 16 bytes on), and smaller blocks to their size.
const MIN_ALIGN: usize = 16;

/// mimalloc, with the plain calls where they suffice.
pub struct MiMalloc;

/// Whether mimalloc's plain calls already give `layout` its alignment.
#[inline(always)]
fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every call hands mimalloc's own contract on: blocks from mi_malloc / mi_malloc_aligned
// are freed with mi_free and resized with mi_realloc(_aligned), which keep the alignment asked.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_gets_its_alignment_and_keeps_its_bytes_through_realloc() {
        let a = MiMalloc;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1usize, 3, 7, 8, 12, 16, 24, 40, 48, 56, 72, 100, 1000, 1025, 2900, 5000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xab, size);
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed, size {size} align {align}");
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, layout);
                    let mut q = p;
                    let mut now = layout;
                    for new_size in [size * 3, size / 2 + 1] {
                        q = a.realloc(q, now, new_size);
                        assert_eq!(q as usize % align, 0, "realloc {size} -> {new_size}, align {align}");
                        let kept = size.min(new_size);
                        assert!((0..kept).all(|i| *q.add(i) == 0xab), "realloc {size} -> {new_size} kept the bytes");
                        now = Layout::from_size_align(new_size, align).unwrap();
                    }
                    a.dealloc(q, now);
                }
            }
        }
    }
}
