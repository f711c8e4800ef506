//! Storage of orders: a slab of fixed-size slots addressed by index, with
//! lookups by order id and client order id, each agent's open orders as an
//! intrusive list, and a bounded FIFO of finished orders kept for lookup.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use hashbrown::HashTable;
use rustc_hash::FxHashMap;
use serde::{Deserializer, Serializer};

use crate::asset::{Asset, AssetId};
use crate::cmd::place_order::{OrderType, SelfTradePrevention, Side, TimeInForce};
use crate::hash32::{key_hash, table_hash};
use crate::id_index::IdIndex;
use crate::ledger::AgentIdx;
use crate::prefetch::prefetch;
use crate::reject::Reject;
use crate::reply::{OrderAck, OrderStatus};
use crate::segmented::Segmented;
use crate::units::{ClientOrderId, Lots, OrderId, Ticks, Timestamp};

/// Sets the client id of the order in `slot`, first extending the store
/// to that slot.
fn store_client_id(
    client_ids: &mut Segmented<Option<ClientOrderId>>,
    slot: u32,
    id: ClientOrderId,
) {
    while client_ids.len() <= slot as usize {
        client_ids.push(None);
    }
    client_ids[slot as usize] = Some(id);
}

/// Whether the order in `slot` is `agent`'s with client id `client_id`.
fn is_client_order(
    slots: &[Order],
    client_ids: &Segmented<Option<ClientOrderId>>,
    slot: u32,
    agent: AgentIdx,
    client_id: &ClientOrderId,
) -> bool {
    client_ids.get(slot as usize) == Some(&Some(*client_id)) && slots[slot as usize].agent == agent
}

/// "No slot" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;

/// One order, in exactly one cache line. Open orders are linked into
/// their price level's queue (`prev`/`next`) and listed in their agent's
/// open orders at `agent_pos`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[repr(align(64))]
pub(crate) struct Order {
    pub id: OrderId,
    pub agent: AgentIdx,
    /// Limit price (for a market order: its protection price, or the
    /// side's extreme when it has none).
    pub price: Ticks,
    pub remaining: Lots,
    pub filled: Lots,
    pub placed_at: Timestamp,
    pub prev: u32,
    pub next: u32,
    /// Index of the order's entry in its agent's open orders.
    pub agent_pos: u32,
    pub asset: AssetId,
    pub traits: Traits,
    pub status: OrderStatus,
}

const _: () = assert!(std::mem::size_of::<Order>() == 64);

impl Order {
    /// Where the order stands, in `asset`'s units.
    pub fn ack(&self, asset: &Asset) -> OrderAck {
        OrderAck {
            order_id: self.id,
            status: self.status,
            filled: asset.quantity(self.filled),
            remaining: asset.quantity(self.remaining),
        }
    }

    /// Buy or sell.
    pub fn side(&self) -> Side {
        self.traits.side()
    }
}

/// An order's fixed choices packed in one byte, so that an order fits a
/// cache line: side (bit 0), type (bit 1), client id present (bit 2),
/// time in force (bits 3–4), self-trade prevention (bits 5–6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Traits(u8);

impl Traits {
    pub fn new(
        side: Side,
        order_type: OrderType,
        tif: TimeInForce,
        stp: SelfTradePrevention,
    ) -> Traits {
        let side = match side {
            Side::Buy => 0,
            Side::Sell => 1,
        };
        let order_type = match order_type {
            OrderType::Limit => 0,
            OrderType::Market => 1,
        };
        let tif = match tif {
            TimeInForce::Gtc => 0,
            TimeInForce::Ioc => 1,
            TimeInForce::Fok => 2,
            TimeInForce::PostOnly => 3,
        };
        let stp = match stp {
            SelfTradePrevention::CancelResting => 0,
            SelfTradePrevention::CancelNewest => 1,
            SelfTradePrevention::CancelBoth => 2,
        };
        Traits(side | order_type << 1 | tif << 3 | stp << 5)
    }

    pub fn side(self) -> Side {
        if self.0 & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    pub fn order_type(self) -> OrderType {
        if self.0 >> 1 & 1 == 0 {
            OrderType::Limit
        } else {
            OrderType::Market
        }
    }

    pub fn has_client_id(self) -> bool {
        self.0 >> 2 & 1 == 1
    }

    fn with_client_id(self) -> Traits {
        Traits(self.0 | 1 << 2)
    }

    pub fn time_in_force(self) -> TimeInForce {
        match self.0 >> 3 & 3 {
            0 => TimeInForce::Gtc,
            1 => TimeInForce::Ioc,
            2 => TimeInForce::Fok,
            _ => TimeInForce::PostOnly,
        }
    }

    pub fn stp(self) -> SelfTradePrevention {
        match self.0 >> 5 & 3 {
            0 => SelfTradePrevention::CancelResting,
            1 => SelfTradePrevention::CancelNewest,
            _ => SelfTradePrevention::CancelBoth,
        }
    }
}

/// An entry of an agent's list of open orders: the order's id, slot
/// ([`NIL`] once it is dead) and asset, so that a list narrowed to an
/// asset reads no order it skips (the asset fills what would be padding).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OpenEntry {
    pub id: OrderId,
    pub slot: u32,
    pub asset: AssetId,
}

const _: () = assert!(std::mem::size_of::<OpenEntry>() == 16);

/// An agent's open orders in id order, so that the agent's list pages
/// from any cursor without reading the orders before it (an unordered
/// list made each page of a market maker's 200k orders a 2.4 ms walk of
/// them all on the engine thread). A new order's id is the highest (the
/// gateway numbers orders upwards), so adding one appends. Each order
/// knows its entry's position (`agent_pos`): removing one marks that
/// entry dead, touching no other order. Once dead entries outnumber the
/// open ones the list drops them: those in front by moving `base` (so no
/// order's position changes: cancelling all of a million orders, oldest
/// first, renumbers none), the rest by renumbering the orders that moved.
/// (An ordered map cost the mixed workload 15-20% of its throughput, and
/// finding the entry by binary search 9%.)
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct AgentOrders {
    /// Ascending by id.
    entries: Vec<OpenEntry>,
    /// Entries that are not dead.
    open: u32,
    /// The position of `entries[0]` (positions wrap around).
    base: u32,
}

impl AgentOrders {
    /// Adds an open order and answers its entry's index; the entries
    /// after it moved up by one unless it is last.
    #[inline]
    fn insert(&mut self, entry: OpenEntry) -> usize {
        self.open += 1;
        match self.entries.last() {
            Some(last) if last.id > entry.id => {
                let at = self.entries.partition_point(|e| e.id < entry.id);
                self.entries.insert(at, entry);
                at
            }
            _ => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        }
    }

    /// The position of the entry at `index`.
    fn position(&self, index: usize) -> u32 {
        self.base.wrapping_add(index as u32)
    }

    /// Marks the entry at position `pos` dead; answers whether the list
    /// dropped dead entries between open ones, which changes the open
    /// ones' positions.
    #[inline]
    fn remove(&mut self, pos: u32) -> bool {
        let index = pos.wrapping_sub(self.base) as usize;
        debug_assert!(self.entries[index].slot != NIL, "removing a dead entry");
        self.entries[index].slot = NIL;
        self.open -= 1;
        let too_many = |len: usize, open: u32| len > 2 * open as usize + 8;
        let compacted = if self.open == 0 {
            self.entries.clear();
            false
        } else if too_many(self.entries.len(), self.open) {
            let front = self.entries.iter().take_while(|e| e.slot == NIL).count();
            self.entries.drain(..front);
            self.base = self.position(front);
            let scattered = too_many(self.entries.len(), self.open);
            if scattered {
                self.entries.retain(|e| e.slot != NIL);
            }
            scattered
        } else {
            return false;
        };
        // An agent that had a million orders and now has a few does not
        // keep room for a million.
        if self.entries.capacity() > 4 * self.entries.len().max(64) {
            self.entries.shrink_to(2 * self.entries.len().max(64));
        }
        compacted
    }

    /// The open orders with ids after `after` (all with `None`).
    fn after(&self, after: Option<OrderId>) -> impl Iterator<Item = OpenEntry> + '_ {
        let from = after.map_or(0, |a| self.entries.partition_point(|e| e.id <= a));
        self.entries[from..]
            .iter()
            .copied()
            .filter(|e| e.slot != NIL)
    }
}

/// A finished order waiting to be forgotten. It carries what forgetting
/// needs, so the old (likely cold) slot is not read just to evict it.
#[derive(Copy, Clone, Debug, Serialize, Deserialize)]
struct Finished {
    slot: u32,
    has_client_id: bool,
    id: OrderId,
}

/// An entry of the client id index: the slot of an agent's newest order
/// with a client id, and a hash of `(agent, client id)`, so that growing
/// the index reads no order.
#[derive(Copy, Clone, Debug)]
struct ClientEntry {
    slot: u32,
    hash: u32,
}

impl ClientEntry {
    fn table_hash(&self) -> u64 {
        table_hash(self.hash)
    }
}

/// All orders the engine knows: open ones and recently finished ones.
///
/// Client ids sit beside the slots, in chunks, and their index keeps
/// 8-byte entries: as hash maps of whole client ids (about 45 bytes an
/// entry), both rehashed everything at every doubling, tens of
/// milliseconds at a few hundred thousand resting orders with client ids.
#[derive(Clone, Debug, Default)]
pub(crate) struct OrderStore {
    slots: Vec<Order>,
    free: Vec<u32>,
    /// Slots by order id. Not in snapshots: [`OrderStore::rebuild_index`]
    /// derives it from the kept orders.
    by_id: IdIndex,
    /// Slots by agent and client id (the client id is read from
    /// `client_ids`, the agent from the slot).
    by_client_id: HashTable<ClientEntry>,
    /// By slot: the client id of the order there, if it has one.
    client_ids: Segmented<Option<ClientOrderId>>,
    /// Indexed by agent.
    agents: Vec<AgentOrders>,
    finished: VecDeque<Finished>,
    /// How many orders have finished, ever: the snapshotter's copy tells
    /// by it how far its archive of finished orders has come.
    finished_total: u64,
    /// Not state: when kept, a copy of each order as it finishes (with
    /// its client id), until taken. A copy, not the slot: a slot leaves
    /// the retained orders, and a new order may take it, within one
    /// command.
    archive: Option<Vec<(Order, Option<ClientOrderId>)>>,
}

impl OrderStore {
    /// Makes room in the slab for `orders` orders in all (open and
    /// retained finished), so that it is never moved: copying it held one
    /// command for tens of milliseconds at a million orders. (The id index
    /// grows by pages, never all at once.)
    pub fn reserve(&mut self, orders: usize) {
        self.slots.reserve(orders.saturating_sub(self.slots.len()));
    }

    /// Rebuilds the id index from the open and the retained finished
    /// orders, after the store was restored from a snapshot.
    pub fn rebuild_index(&mut self) {
        let mut kept: Vec<(OrderId, u32)> = self
            .agents
            .iter()
            .flat_map(|a| a.after(None).map(|e| e.slot))
            .chain(self.finished.iter().map(|f| f.slot))
            .map(|slot| (self.slots[slot as usize].id, slot))
            .collect();
        // In id order, as they came: neighbours share pages again.
        kept.sort_unstable();
        self.by_id = IdIndex::default();
        for (id, slot) in kept {
            self.by_id.insert(id, slot);
        }
    }

    /// The slot of order `id`.
    pub fn find(&self, id: OrderId) -> Option<u32> {
        self.by_id.get(id)
    }

    /// Starts loading order `id`'s cache line, for a command about to
    /// name it.
    pub fn prefetch(&self, id: OrderId) {
        if let Some(slot) = self.by_id.get(id) {
            prefetch(&self.slots[slot as usize]);
        }
    }

    /// Starts loading order `id`'s entry in the id index, for a command
    /// two ahead: when [`OrderStore::prefetch`] then looks the order up,
    /// one command later, it does not wait for the entry.
    pub fn prefetch_index(&self, id: OrderId) {
        self.by_id.prefetch(id);
    }

    /// The slot of `agent`'s order with client id `client_id`.
    pub fn find_by_client_id(&self, agent: AgentIdx, client_id: &ClientOrderId) -> Option<u32> {
        let hash = key_hash(&(agent, client_id));
        let (slots, client_ids) = (&self.slots, &self.client_ids);
        self.by_client_id
            .find(table_hash(hash), |e| {
                e.hash == hash && is_client_order(slots, client_ids, e.slot, agent, client_id)
            })
            .map(|e| e.slot)
    }

    /// Checks that a new order may take `id` and `client_id`. `id_max` is
    /// the highest order id ever placed: an id above it is new without a
    /// lookup (the gateway numbers orders upwards, so this is the usual
    /// case).
    pub fn check_new(
        &self,
        id: OrderId,
        id_max: u64,
        agent: Option<AgentIdx>,
        client_id: Option<&ClientOrderId>,
        agent_open_max: u32,
    ) -> Result<(), Reject> {
        if id.0 <= id_max && self.find(id).is_some() {
            return Err(Reject::DuplicateOrderId);
        }
        // An agent never seen before has no orders yet.
        let Some(agent) = agent else {
            return Ok(());
        };
        if let Some(slot) = client_id.and_then(|c| self.find_by_client_id(agent, c)) {
            if self.slots[slot as usize].status.is_open() {
                return Err(Reject::DuplicateClientOrderId);
            }
        }
        if self.open_count(agent) >= agent_open_max {
            return Err(Reject::TooManyOpenOrders);
        }
        Ok(())
    }

    /// Asks the CPU to start loading the end of `agent`'s list of open
    /// orders, where [`OrderStore::insert`] will add its next one: a line
    /// untouched since that agent's last order.
    pub fn prefetch_agent_end(&self, agent: AgentIdx) {
        if let Some(a) = self.agents.get(agent.0 as usize) {
            prefetch(
                a.entries
                    .as_ptr()
                    .wrapping_add(a.entries.len())
                    .wrapping_sub(1),
            );
        }
    }

    /// Asks the CPU to start loading the entry of the open order in `slot`
    /// in its agent's list, which finishing the order marks.
    pub fn prefetch_agent_entry(&self, slot: u32) {
        let Order {
            agent, agent_pos, ..
        } = self.slots[slot as usize];
        if let Some(a) = self.agents.get(agent.0 as usize) {
            let index = agent_pos.wrapping_sub(a.base) as usize;
            prefetch(a.entries.as_ptr().wrapping_add(index));
        }
    }

    /// Stores a new open order (checked by [`OrderStore::check_new`]) and
    /// links it into its agent's list.
    pub fn insert(&mut self, order: Order, client_id: Option<ClientOrderId>) -> u32 {
        debug_assert!(order.status.is_open() && order.prev == NIL && order.next == NIL);
        let (id, agent) = (order.id, order.agent);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = order;
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("slot count fits u32");
                assert!(slot != NIL);
                self.slots.push(order);
                slot
            }
        };
        self.by_id.insert(id, slot);
        if let Some(client_id) = client_id {
            let order = &mut self.slots[slot as usize];
            order.traits = order.traits.with_client_id();
            self.index_client_id(slot, agent, client_id);
        }
        self.link_agent(slot);
        slot
    }

    /// The order in `slot`.
    pub fn get(&self, slot: u32) -> &Order {
        &self.slots[slot as usize]
    }

    /// The order in `slot`, mutably.
    pub fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.slots[slot as usize]
    }

    /// The client id of the order in `slot`.
    pub fn client_id(&self, slot: u32) -> Option<ClientOrderId> {
        if !self.slots[slot as usize].traits.has_client_id() {
            return None;
        }
        *self.client_ids.get(slot as usize)?
    }

    /// Records `client_id` as that of `agent`'s order in `slot`; a finished
    /// order with the same client id is shadowed. The first client id
    /// makes the index as large as the slab (as many orders as the store
    /// has held at once), so that it does not grow step by step under
    /// load.
    fn index_client_id(&mut self, slot: u32, agent: AgentIdx, client_id: ClientOrderId) {
        store_client_id(&mut self.client_ids, slot, client_id);
        let room = self.slots.len();
        if self.by_client_id.capacity() < room {
            let more = room - self.by_client_id.len();
            self.by_client_id.reserve(more, ClientEntry::table_hash);
        }
        let hash = key_hash(&(agent, &client_id));
        let (slots, client_ids) = (&self.slots, &self.client_ids);
        let shadowed = self.by_client_id.find_mut(table_hash(hash), |e| {
            e.hash == hash && is_client_order(slots, client_ids, e.slot, agent, &client_id)
        });
        match shadowed {
            Some(entry) => entry.slot = slot,
            None => {
                let entry = ClientEntry { slot, hash };
                self.by_client_id
                    .insert_unique(table_hash(hash), entry, ClientEntry::table_hash);
            }
        }
    }

    /// Marks an open order (already out of its book) finished with
    /// `status`, unlinks it from its agent, and keeps it for lookup until
    /// `retained_max` newer orders have finished.
    pub fn finish(&mut self, slot: u32, status: OrderStatus, retained_max: u32) {
        debug_assert!(!status.is_open());
        let order = &mut self.slots[slot as usize];
        debug_assert!(order.status.is_open(), "finishing a finished order");
        order.status = status;
        let (id, has_client_id) = (order.id, order.traits.has_client_id());
        self.finished_total += 1;
        if let Some(archive) = &mut self.archive {
            let client_id = match has_client_id {
                true => self.client_ids.get(slot as usize).copied().flatten(),
                false => None,
            };
            archive.push((self.slots[slot as usize].clone(), client_id));
        }
        self.unlink_agent(slot);
        self.finished.push_back(Finished {
            slot,
            has_client_id,
            id,
        });
        while self.finished.len() > retained_max as usize {
            let old = self.finished.pop_front().expect("non-empty");
            self.forget(old);
        }
    }

    fn forget(&mut self, finished: Finished) {
        let Finished {
            slot,
            has_client_id,
            id,
        } = finished;
        self.by_id.remove(id, slot);
        if has_client_id {
            let agent = self.slots[slot as usize].agent;
            let client_id = self.client_ids[slot as usize]
                .take()
                .expect("client id stored");
            let hash = table_hash(key_hash(&(agent, &client_id)));
            // Unless a newer order took the client id over.
            if let Ok(entry) = self.by_client_id.find_entry(hash, |e| e.slot == slot) {
                entry.remove();
            }
        }
        self.free.push(slot);
        // The next new order takes this slot, which has not been touched
        // for thousands of orders: start bringing it into cache now.
        prefetch(&self.slots[slot as usize]);
    }

    /// How many open orders `agent` has.
    pub fn open_count(&self, agent: AgentIdx) -> u32 {
        self.agents.get(agent.0 as usize).map_or(0, |a| a.open)
    }

    /// `agent`'s open orders after order id `after` (all with `None`),
    /// in id order.
    pub fn open_orders_of(
        &self,
        agent: AgentIdx,
        after: Option<OrderId>,
    ) -> impl Iterator<Item = OpenEntry> + '_ {
        self.agents
            .get(agent.0 as usize)
            .into_iter()
            .flat_map(move |a| a.after(after))
    }

    /// Checks `agent`'s list of open orders: ids ascending, each open
    /// entry naming an open order of the agent's with that id that knows
    /// its entry, and the count right. Answers the count.
    pub fn check_open_list(&self, agent: AgentIdx) -> Result<u32, String> {
        let list = self.agents.get(agent.0 as usize).ok_or("no list")?;
        if !list.entries.windows(2).all(|w| w[0].id < w[1].id) {
            return Err(format!("agent {agent:?} lists orders out of id order"));
        }
        let mut open = 0;
        for (pos, &OpenEntry { id, slot, asset }) in list.entries.iter().enumerate() {
            if slot == NIL {
                continue;
            }
            let o = &self.slots[slot as usize];
            let known = o.id == id && o.asset == asset && o.agent_pos == list.position(pos);
            if !(o.agent == agent && o.status.is_open() && known) {
                return Err(format!("agent {agent:?} lists order {id} wrongly"));
            }
            open += 1;
        }
        if open != list.open {
            return Err(format!("agent {agent:?} open count is wrong"));
        }
        Ok(open)
    }

    /// Every agent with open orders.
    pub fn agents_with_orders(&self) -> impl Iterator<Item = AgentIdx> + '_ {
        (0..self.agents.len())
            .filter(|&i| self.agents[i].open > 0)
            .map(|i| AgentIdx(i as u32))
    }

    /// Finished orders still kept, oldest first.
    pub fn finished_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.finished.iter().map(|f| f.slot)
    }

    /// How many finished orders are kept.
    pub fn finished_len(&self) -> usize {
        self.finished.len()
    }

    /// How many orders have finished, ever.
    pub fn finished_total(&self) -> u64 {
        self.finished_total
    }

    /// Starts keeping a copy of every order that finishes from now on.
    pub fn keep_archive(&mut self) {
        self.archive.get_or_insert_with(Vec::new);
    }

    /// The orders that finished since the last call, in the order they
    /// finished, with their client ids (none unless kept).
    pub fn take_archive(&mut self) -> Vec<(Order, Option<ClientOrderId>)> {
        self.archive
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Number of orders kept (open and finished).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Number of client-id entries.
    pub fn client_id_count(&self) -> usize {
        self.by_client_id.len()
    }

    fn link_agent(&mut self, slot: u32) {
        let Order {
            agent, id, asset, ..
        } = self.slots[slot as usize];
        let agent = agent.0 as usize;
        if self.agents.len() <= agent {
            self.agents.resize_with(agent + 1, AgentOrders::default);
        }
        let index = self.agents[agent].insert(OpenEntry { id, slot, asset });
        // The new order, and any entries after it (when it came out of
        // id order), learn their positions.
        self.renumber(agent, index);
    }

    fn unlink_agent(&mut self, slot: u32) {
        let Order {
            agent, agent_pos, ..
        } = self.slots[slot as usize];
        let agent = agent.0 as usize;
        if self.agents[agent].remove(agent_pos) {
            self.renumber(agent, 0);
        }
    }

    /// Tells the open orders in `agent`'s entries from index `from` on
    /// where their entries are.
    fn renumber(&mut self, agent: usize, from: usize) {
        let list = &self.agents[agent];
        for (index, e) in list.entries.iter().enumerate().skip(from) {
            if e.slot != NIL {
                self.slots[e.slot as usize].agent_pos = list.position(index);
            }
        }
    }
}

/// The client ids by agent and client id, serialized as the map they were.
struct ClientIndexForm<'a>(&'a OrderStore);

impl Serialize for ClientIndexForm<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let store = self.0;
        let mut map = serializer.serialize_map(Some(store.by_client_id.len()))?;
        for e in store.by_client_id.iter() {
            let agent = store.slots[e.slot as usize].agent;
            let client_id = store.client_ids[e.slot as usize].expect("an indexed client id");
            map.serialize_entry(&(agent, client_id), &e.slot)?;
        }
        map.end()
    }
}

/// The client ids by slot, serialized as the map they were.
struct ClientIdsForm<'a>(&'a Segmented<Option<ClientOrderId>>);

impl Serialize for ClientIdsForm<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let ids = || {
            self.0
                .iter()
                .enumerate()
                .filter_map(|(slot, id)| Some((slot as u32, id.as_ref()?)))
        };
        let mut map = serializer.serialize_map(Some(ids().count()))?;
        for (slot, id) in ids() {
            map.serialize_entry(&slot, id)?;
        }
        map.end()
    }
}

/// The stored form of an [`OrderStore`] (the id index is rebuilt, not
/// stored), field for field as when the client id indexes were hash maps.
#[derive(Serialize, Deserialize)]
struct StoredOrders<Slots, Free, ClientIndex, ClientIds, Agents, Done> {
    slots: Slots,
    free: Free,
    by_client_id: ClientIndex,
    client_ids: ClientIds,
    agents: Agents,
    finished: Done,
    finished_total: u64,
}

impl Serialize for OrderStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredOrders {
            slots: &self.slots,
            free: &self.free,
            by_client_id: ClientIndexForm(self),
            client_ids: ClientIdsForm(&self.client_ids),
            agents: &self.agents,
            finished: &self.finished,
            finished_total: self.finished_total,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OrderStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        type Owned = StoredOrders<
            Vec<Order>,
            Vec<u32>,
            FxHashMap<(AgentIdx, ClientOrderId), u32>,
            FxHashMap<u32, ClientOrderId>,
            Vec<AgentOrders>,
            VecDeque<Finished>,
        >;
        let stored = Owned::deserialize(deserializer)?;
        let mut store = OrderStore {
            slots: stored.slots,
            free: stored.free,
            finished: stored.finished,
            finished_total: stored.finished_total,
            ..OrderStore::default()
        };
        let invalid = |what: &str| serde::de::Error::custom(format!("order store: {what}"));
        let slot_count = store.slots.len();
        let mut listed = stored.agents.iter().flat_map(|a| &a.entries);
        if listed.any(|e| e.slot != NIL && e.slot as usize >= slot_count) {
            return Err(invalid("an open order in a slot that does not exist"));
        }
        store.agents = stored.agents;
        for (slot, client_id) in stored.client_ids {
            if slot as usize >= store.slots.len() {
                return Err(invalid("a client id of a slot that does not exist"));
            }
            store_client_id(&mut store.client_ids, slot, client_id);
        }
        for ((agent, client_id), slot) in stored.by_client_id {
            let (slots, client_ids) = (&store.slots, &store.client_ids);
            if !is_client_order(slots, client_ids, slot, agent, &client_id) {
                return Err(invalid("a client id index entry that names another order"));
            }
            let entry = ClientEntry {
                slot,
                hash: key_hash(&(agent, &client_id)),
            };
            store
                .by_client_id
                .insert_unique(entry.table_hash(), entry, ClientEntry::table_hash);
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An open limit buy of one lot with id `id`.
    fn order(id: u64) -> Order {
        Order {
            id: OrderId(id),
            agent: AgentIdx(0),
            price: Ticks(1),
            remaining: Lots(1),
            filled: Lots(0),
            placed_at: Timestamp(0),
            prev: NIL,
            next: NIL,
            agent_pos: 0,
            asset: AssetId(0),
            traits: Traits::new(
                Side::Buy,
                OrderType::Limit,
                TimeInForce::Gtc,
                SelfTradePrevention::CancelResting,
            ),
            status: OrderStatus::Open,
        }
    }

    #[test]
    fn an_agents_open_orders_list_in_id_order_through_removals_and_compaction() {
        // Agent 0's orders against a model: ids mostly rising, some placed
        // out of order; removals from the front, the back and the middle,
        // enough to compact the list several times.
        let mut store = OrderStore::default();
        let mut model = std::collections::BTreeMap::new();
        let agent = AgentIdx(0);
        let listed = |store: &OrderStore, after| -> Vec<(OrderId, u32)> {
            (store.open_orders_of(agent, after))
                .map(|e| (e.id, e.slot))
                .collect()
        };
        for step in 0..2_000u64 {
            let id = if step % 7 == 3 {
                10 * step - 25
            } else {
                10 * step
            };
            if model.contains_key(&OrderId(id)) {
                continue;
            }
            let slot = store.insert(order_of(id, 0), None);
            model.insert(OrderId(id), slot);
            if step % 3 != 0 {
                // Remove the oldest, the newest or one in between.
                let pick = match step % 5 {
                    0 => model.keys().next().copied(),
                    1 => model.keys().next_back().copied(),
                    _ => model.keys().nth(model.len() / 2).copied(),
                };
                let gone = model.remove(&pick.unwrap()).unwrap();
                store.finish(gone, OrderStatus::Cancelled, 0);
            }
            assert_eq!(store.check_open_list(agent), Ok(model.len() as u32));
        }
        let all: Vec<(OrderId, u32)> = model.iter().map(|(&id, &slot)| (id, slot)).collect();
        assert_eq!(listed(&store, None), all);
        let after = all[all.len() / 3].0;
        assert_eq!(listed(&store, Some(after)), all[all.len() / 3 + 1..]);
        // A cursor that is no order's id starts after where it would be.
        assert_eq!(
            listed(&store, Some(OrderId(after.0 + 1))),
            listed(&store, Some(after))
        );
        assert!(store.agents[0].entries.len() <= 2 * model.len() + 8);
        // The list, dead entries and all, survives storing.
        let back: OrderStore = bincode::deserialize(&bincode::serialize(&store).unwrap()).unwrap();
        assert_eq!(listed(&back, None), all);
        assert_eq!(back.check_open_list(agent), Ok(model.len() as u32));
        // Removing every order empties the list.
        for (_, slot) in all {
            store.finish(slot, OrderStatus::Cancelled, 0);
        }
        assert!(store.agents[0].entries.is_empty());
        assert!(store.agents[0].entries.capacity() <= 256, "room given back");
        assert_eq!(store.agents_with_orders().count(), 0);
    }

    #[test]
    fn removing_the_oldest_orders_moves_no_other_orders_position() {
        // Positions wrap around: start the list near the end of u32.
        let mut store = OrderStore::default();
        store.agents.push(AgentOrders {
            base: u32::MAX - 100,
            ..AgentOrders::default()
        });
        let slots: Vec<u32> = (1..=1_000)
            .map(|id| store.insert(order(id), None))
            .collect();
        let last = *slots.last().unwrap();
        let position = store.get(last).agent_pos;
        for &slot in &slots[..900] {
            store.finish(slot, OrderStatus::Cancelled, 0);
            assert_eq!(store.get(last).agent_pos, position, "not renumbered");
        }
        assert_eq!(store.check_open_list(AgentIdx(0)), Ok(100));
        assert!(store.agents[0].entries.len() <= 2 * 100 + 8);
        let ids: Vec<u64> = (store.open_orders_of(AgentIdx(0), Some(OrderId(950))))
            .map(|e| e.id.0)
            .collect();
        assert_eq!(ids, (951..=1_000).collect::<Vec<_>>());
        // Removals in between still compact, renumbering what moved.
        for (i, &slot) in slots[900..].iter().enumerate() {
            if i % 4 != 0 {
                store.finish(slot, OrderStatus::Cancelled, 0);
                assert!(store.check_open_list(AgentIdx(0)).is_ok());
            }
        }
        assert_eq!(store.check_open_list(AgentIdx(0)), Ok(25));
        assert!(store.agents[0].entries.len() <= 2 * 25 + 8);
    }

    #[test]
    fn ids_with_the_same_low_bits_are_told_apart() {
        // The index keeps 32 bits of an id; lookups compare the whole id.
        let mut store = OrderStore::default();
        let low = store.insert(order(7), None);
        let high = store.insert(order(7 + (1 << 32)), None);
        assert_eq!(store.find(OrderId(7)), Some(low));
        assert_eq!(store.find(OrderId(7 + (1 << 32))), Some(high));
        assert_eq!(store.find(OrderId(7 + (2 << 32))), None);
        store.finish(low, OrderStatus::Cancelled, 0);
        assert_eq!(store.find(OrderId(7)), None);
        assert_eq!(store.find(OrderId(7 + (1 << 32))), Some(high));
    }

    fn cid(s: &str) -> ClientOrderId {
        ClientOrderId::new(s).unwrap()
    }

    /// Order `id` of agent `agent`.
    fn order_of(id: u64, agent: u32) -> Order {
        Order {
            agent: AgentIdx(agent),
            ..order(id)
        }
    }

    #[test]
    fn client_ids_are_per_agent_shadowed_by_newer_orders_and_forgotten_with_theirs() {
        let mut store = OrderStore::default();
        let a = store.insert(order_of(1, 0), Some(cid("x")));
        let b = store.insert(order_of(2, 1), Some(cid("x")));
        store.insert(order_of(3, 0), None);
        assert_eq!(store.find_by_client_id(AgentIdx(0), &cid("x")), Some(a));
        assert_eq!(store.find_by_client_id(AgentIdx(1), &cid("x")), Some(b));
        assert_eq!(store.find_by_client_id(AgentIdx(2), &cid("x")), None);
        assert_eq!(
            (store.client_id(a), store.client_id(2)),
            (Some(cid("x")), None)
        );
        // A finished order's client id answers until a new order takes it.
        store.finish(a, OrderStatus::Filled, 10);
        assert_eq!(store.find_by_client_id(AgentIdx(0), &cid("x")), Some(a));
        let c = store.insert(order_of(4, 0), Some(cid("x")));
        assert_eq!(store.find_by_client_id(AgentIdx(0), &cid("x")), Some(c));
        assert_eq!(store.client_id_count(), 2);
        // Forgetting the shadowed order leaves the newer one indexed;
        // forgetting that one drops the client id, and its slot, reused
        // without one, has none.
        store.finish(c, OrderStatus::Cancelled, 0);
        assert_eq!(store.find_by_client_id(AgentIdx(0), &cid("x")), None);
        assert_eq!(store.client_id_count(), 1);
        let reused = store.insert(order_of(5, 0), None);
        assert!(reused == a || reused == c);
        assert_eq!(store.client_id(reused), None);
    }

    #[test]
    fn client_ids_keep_their_stored_form_and_index_room_is_made_once() {
        let mut store = OrderStore::default();
        // A thousand slots held once, free again.
        let held: Vec<u32> = (10_001..=11_000)
            .map(|id| store.insert(order_of(id, 0), None))
            .collect();
        for slot in held {
            store.finish(slot, OrderStatus::Cancelled, 0);
        }
        let slot = store.insert(order_of(1, 0), Some(cid("first")));
        let size = store.by_client_id.allocation_size();
        for id in 2..=900 {
            let client_id = cid(&format!("c{id}"));
            store.insert(order_of(id, (id % 3) as u32), Some(client_id));
        }
        assert_eq!(
            store.by_client_id.allocation_size(),
            size,
            "never reallocated"
        );
        // Stored as two maps: (agent, client id) -> slot and slot -> client id.
        type ByClient = FxHashMap<(AgentIdx, ClientOrderId), u32>;
        type ById = FxHashMap<u32, ClientOrderId>;
        let bytes = bincode::serialize(&store).unwrap();
        let stored: StoredOrders<
            Vec<Order>,
            Vec<u32>,
            ByClient,
            ById,
            Vec<AgentOrders>,
            VecDeque<Finished>,
        > = bincode::deserialize(&bytes).unwrap();
        assert_eq!(stored.by_client_id.len(), 900);
        assert_eq!(stored.by_client_id[&(AgentIdx(0), cid("first"))], slot);
        assert_eq!(stored.client_ids[&slot], cid("first"));
        let mut back: OrderStore = bincode::deserialize(&bytes).unwrap();
        back.rebuild_index();
        for id in 2..=900u64 {
            let (agent, client_id) = (AgentIdx((id % 3) as u32), cid(&format!("c{id}")));
            let found = back.find_by_client_id(agent, &client_id);
            assert_eq!(found, store.find_by_client_id(agent, &client_id));
            assert_eq!(back.client_id(found.unwrap()), Some(client_id));
        }
        // An index entry naming another order's client id is refused.
        let mut bad = stored;
        bad.by_client_id.insert((AgentIdx(1), cid("first")), slot);
        let bytes = bincode::serialize(&bad).unwrap();
        assert!(bincode::deserialize::<OrderStore>(&bytes).is_err());
    }

    #[test]
    fn reserved_room_is_filled_without_moving_the_slab() {
        let mut store = OrderStore::default();
        let first = store.insert(order(1), None);
        store.reserve(1_000);
        let slab = store.slots.as_ptr();
        for id in 2..=1_000 {
            store.insert(order(id), None);
        }
        assert_eq!(store.slots.as_ptr(), slab, "the slab was not moved");
        assert_eq!(store.find(OrderId(1)), Some(first));
        assert!((1..=1_000).all(|id| store.find(OrderId(id)).is_some()));
    }

    #[test]
    fn reserved_room_is_not_state() {
        let mut market = crate::Market::new(crate::EngineConfig::default());
        let before = (market.state_digest(), market.snapshot());
        market.reserve_orders(10_000);
        assert_eq!((market.state_digest(), market.snapshot()), before);
    }

    #[test]
    fn traits_pack_and_unpack_every_combination() {
        use SelfTradePrevention::*;
        use TimeInForce::*;
        for side in [Side::Buy, Side::Sell] {
            for order_type in [OrderType::Limit, OrderType::Market] {
                for tif in [Gtc, Ioc, Fok, PostOnly] {
                    for stp in [CancelResting, CancelNewest, CancelBoth] {
                        let t = Traits::new(side, order_type, tif, stp);
                        for t in [t, t.with_client_id()] {
                            assert_eq!(
                                (t.side(), t.order_type(), t.time_in_force(), t.stp()),
                                (side, order_type, tif, stp)
                            );
                        }
                        assert!(!t.has_client_id() && t.with_client_id().has_client_id());
                    }
                }
            }
        }
    }
}
