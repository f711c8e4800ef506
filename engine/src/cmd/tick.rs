//! `Tick`: time passes. Everything whose deadline is at or before the
//! tick's time is acted on, earliest first: unpaid transactions are
//! cancelled, undelivered ones refunded, delivered ones released to the
//! seller; requests and offers expire; auctions close and Dutch prices
//! step down.
//!
//! The gateway sends ticks on a timer. A tick with nothing due is rejected
//! (`NothingDue`), so idle ticks never reach the journal. One tick acts on
//! at most [`TICK_DUE_MAX`] deadlines and says whether more are due, so a
//! backlog (after a restart that was down for a while, say) is worked off
//! in short steps between other commands instead of one long stall.

use crate::auctions::Due;
use crate::event::Event;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::Timestamp;

/// Work one tick does at most, about a millisecond: one unit per
/// deadline acted on, and one more per bid of an auction it closes (a
/// sealed-bid close releases every losing bid's hold).
pub const TICK_DUE_MAX: u32 = 1_024;

/// Acts on the deadlines up to `time`, earliest kind first, until
/// [`TICK_DUE_MAX`] units of work are done.
pub(crate) fn apply(market: &mut Market, time: Timestamp, events: &mut Vec<Event>) -> Reply {
    if !anything_due(market, time) {
        return Err(Reject::NothingDue);
    }
    let mut expired = 0u32;
    let mut work = 0u32;
    // Auctions first: a win opens a transaction, whose deadlines follow.
    while work < TICK_DUE_MAX {
        let Some(due) = market.auctions.pop_due(time) else {
            break;
        };
        match due {
            Due::Step(id) => market.auctions.step(id, time, events),
            Due::End(id) => {
                let bids = market.auctions.get(id).map_or(0, |a| a.bids.len());
                work = work.saturating_add(u32::try_from(bids).unwrap_or(u32::MAX));
                super::auction::close(market, id, None, time, events);
            }
        }
        expired += 1;
        work = work.saturating_add(1);
    }
    while work < TICK_DUE_MAX {
        let Some(id) = market.transactions.next_due(time) else {
            break;
        };
        let (transactions, mut settlement) = market.settlement(time, events);
        let status = transactions.expire(id, &mut settlement);
        market.after_transition(id, status, time, events);
        expired += 1;
        work += 1;
    }
    expired += market
        .requests
        .expire_due(time, TICK_DUE_MAX.saturating_sub(work), events);
    Ok(Ack::Ticked {
        expired,
        more: anything_due(market, time),
    })
}

/// Whether any deadline is at or before `time`.
fn anything_due(market: &Market, time: Timestamp) -> bool {
    market.transactions.next_due(time).is_some()
        || market.requests.has_due(time)
        || market.auctions.has_due(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DAY_NS;
    use crate::testkit::Harness;
    use crate::Command;

    #[test]
    fn a_backlog_of_deadlines_is_worked_off_a_bounded_number_per_tick() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let backlog = TICK_DUE_MAX + 10;
        for _ in 0..backlog {
            h.request(1, 10, 0).unwrap();
        }
        // Every request's deadline (a day after it was posted) has passed.
        let later = h.time + 2 * DAY_NS;
        assert_eq!(
            h.tick_at(later),
            Ok(Ack::Ticked {
                expired: TICK_DUE_MAX,
                more: true
            })
        );
        assert_eq!(h.events.len(), TICK_DUE_MAX as usize);
        assert_eq!(
            h.run(Command::Tick),
            Ok(Ack::Ticked {
                expired: 10,
                more: false
            })
        );
        assert_eq!(h.run(Command::Tick), Err(Reject::NothingDue));
    }
}
