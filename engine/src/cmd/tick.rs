//! `Tick`: time passes. Everything whose deadline is at or before the
//! tick's time is acted on, earliest first: unpaid transactions are
//! cancelled, undelivered ones refunded, delivered ones released to the
//! seller; requests and offers expire; auctions close and Dutch prices
//! step down.
//!
//! The gateway sends ticks on a timer. A tick with nothing due is rejected
//! (`NothingDue`), so idle ticks never reach the journal.

use crate::auctions::Due;
use crate::event::Event;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::Timestamp;

/// Acts on every deadline up to `time`.
pub(crate) fn apply(market: &mut Market, time: Timestamp, events: &mut Vec<Event>) -> Reply {
    if market.transactions.next_due(time).is_none()
        && !market.requests.has_due(time)
        && !market.auctions.has_due(time)
    {
        return Err(Reject::NothingDue);
    }
    let mut expired = 0u32;
    // Auctions first: a win opens a transaction, whose deadlines follow.
    while let Some(due) = market.auctions.pop_due(time) {
        match due {
            Due::Step(id) => market.auctions.step(id, time, events),
            Due::End(id) => super::auction::close(market, id, None, time, events),
        }
        expired += 1;
    }
    while let Some(id) = market.transactions.next_due(time) {
        let (transactions, mut settlement) = market.settlement(time, events);
        let status = transactions.expire(id, &mut settlement);
        market.after_transition(id, status, time, events);
        expired += 1;
    }
    expired += market.requests.expire_due(time, events);
    Ok(Ack::Ticked { expired })
}
