//! Finding where a request head ends as its bytes arrive, each byte looked at once: the head is
//! parsed when its request line has ended (so a bad one is refused at once) and when the head has,
//! not again on every read. A head dribbled byte by byte costs what the same head sent at once does.

use super::{Bad, MALFORMED, MAX_HEAD, RequestHead, parse_request};

/// The scan of one request head, kept between reads.
#[derive(Debug, Default)]
pub(crate) struct HeadScan {
    /// How many bytes have been looked at.
    seen: usize,
    /// Where the line being scanned starts.
    line_start: usize,
    /// Lines with content seen so far (empty lines before the request line are not counted, as
    /// `httparse` skips them).
    lines: usize,
    /// How many times the head was parsed (for the tests).
    #[cfg(test)]
    pub(super) parses: usize,
}

impl HeadScan {
    /// The request head at the start of `buf`, which holds what the last call had and the bytes
    /// read since: `Ok(None)` while it has not ended. Only the new bytes are scanned.
    pub(crate) fn parse(&mut self, buf: &[u8]) -> Result<Option<(RequestHead, usize)>, Bad> {
        let new = buf.get(self.seen..).unwrap_or_default();
        let mut first_line_ended = false;
        let mut end = None;
        for (i, _) in new.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            let at = self.seen + i;
            let line = buf.get(self.line_start..at).unwrap_or_default();
            self.line_start = at + 1;
            if !line.iter().all(|&b| b == b'\r') {
                self.lines += 1;
                first_line_ended |= self.lines == 1;
            } else if self.lines > 0 {
                end = Some(at + 1);
                break;
            }
        }
        self.seen = end.unwrap_or(buf.len());
        if let Some(end) = end {
            let head = buf.get(..end).unwrap_or_default();
            return match self.parse_at(head)? {
                Some((head, len)) if len == end => Ok(Some((head, len))),
                // What ends the head here is not an end to `httparse`: a line of CRs alone.
                _ => Err(MALFORMED),
            };
        }
        if first_line_ended || buf.len() >= MAX_HEAD {
            // A bad request line is refused before the rest arrives; a head over the limit is
            // refused for what it is (too large, or malformed before that).
            self.parse_at(buf)?;
            if buf.len() >= MAX_HEAD {
                return Err(super::TOO_LARGE_HEAD);
            }
        }
        Ok(None)
    }

    fn parse_at(&mut self, buf: &[u8]) -> Result<Option<(RequestHead, usize)>, Bad> {
        #[cfg(test)]
        {
            self.parses += 1;
        }
        parse_request(buf)
    }
}

#[cfg(test)]
#[path = "h1_scan_tests.rs"]
mod tests;
