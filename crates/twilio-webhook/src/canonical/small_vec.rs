//! A small vector: a fixed number of items on the stack, then the heap.

/// A small vector: `N` items inline, then the heap.
pub(crate) struct SmallVec<T, const N: usize> {
    inline: [T; N],
    len: usize,
    spill: Vec<T>,
}

impl<T: Default, const N: usize> SmallVec<T, N> {
    pub(crate) fn new() -> Self {
        SmallVec {
            inline: core::array::from_fn(|_| T::default()),
            len: 0,
            spill: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, item: T) {
        if self.spill.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = item;
                self.len += 1;
                return;
            }
        }
        self.push_spilled(item);
    }

    /// The rare path of [`push`](Self::push), kept out of line so the inline path stays small.
    #[cold]
    #[inline(never)]
    fn push_spilled(&mut self, item: T) {
        if self.spill.is_empty() {
            self.spill.reserve(N * 2);
            self.spill
                .extend(self.inline.iter_mut().map(core::mem::take));
        }
        self.spill.push(item);
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        if self.spill.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spill
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        if self.spill.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.spill
        }
    }
}
