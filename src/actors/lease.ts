/**
 * Whether a Kafka record or a checkpoint write for a run may start under a lease that ends at
 * `leaseUntil`: while at least a quarter of the lease is left (always without a lease). Neither
 * can carry a MongoDB condition, so the local deadline fences them (DESIGN §7): a write that
 * starts with a quarter of a lease left lands long before another worker can take the run over.
 * MongoDB writes need no such margin: they are conditional on the run's owner.
 */
export function leaseLeavesRoomToWrite(leaseUntil: Date | null, leaseMs: number | undefined, now: Date): boolean {
  if (leaseUntil === null || !leaseMs) return true;
  return now.getTime() + leaseMs / 4 <= leaseUntil.getTime();
}
