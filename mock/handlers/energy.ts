import type { HandlerEntry } from './context';
import type { DeviceRecord, PremiseRecord, ServicePointRecord } from '../../fixtures/world';
import { PROBLEMS, problem } from '../problem';
import { isoTimestamp } from '../clock';
import type { Handler, HandlerContext } from './context';
import { callerOf, json } from './context';
import { page } from './pagination';
// A function-level cycle (payments.ts uses ownDevice/currentBalance): nothing here runs at import time.
import { settleDuePayments } from './payments';

/**
 * The caller's premise with this id. Another customer's id, or one no account has, is 404 (api.md
 * "Errors": never 403, no existence leak).
 */
export function ownPremise(ctx: HandlerContext, premiseId: string): PremiseRecord {
  const found = ctx.services.world.findPremise(premiseId);
  if (!found || found.accountIndex !== callerOf(ctx).accountIndex) {
    throw problem(PROBLEMS.NOT_FOUND, `You have no premise ${premiseId}; ListPremises shows yours.`);
  }
  return found.premise;
}

/** The caller's service point (MPAN core or MPRN). @throws Problem not-found (404). */
export function ownServicePoint(
  ctx: HandlerContext,
  servicePointId: string,
): ServicePointRecord & { premiseId: string } {
  const found = ctx.services.world.findServicePoint(servicePointId);
  if (!found || found.accountIndex !== callerOf(ctx).accountIndex) {
    throw problem(
      PROBLEMS.NOT_FOUND,
      `You have no service point ${servicePointId}; ListServicePoints shows yours.`,
    );
  }
  return { ...found.servicePoint, premiseId: found.premise.premise.premiseId };
}

/** The caller's device (EUI-64). @throws Problem not-found (404). */
export function ownDevice(ctx: HandlerContext, deviceId: string): DeviceRecord {
  const found = ctx.services.world.findDevice(deviceId);
  if (!found || found.accountIndex !== callerOf(ctx).accountIndex) {
    throw problem(PROBLEMS.NOT_FOUND, `You have no device ${deviceId}; ListDevices shows yours.`);
  }
  return found.device;
}

/**
 * The device's generated prepayment balance (a top-up's overlay is in the store).
 * @throws Problem not-prepayment (409) for a device that is not a prepayment meter.
 */
export function balanceOf(record: DeviceRecord): NonNullable<DeviceRecord['balance']> {
  if (!record.balance) {
    throw problem(
      PROBLEMS.NOT_PREPAYMENT,
      `Device ${record.device.deviceId} is not a smart meter in prepayment mode; it has no balance.`,
    );
  }
  return record.balance;
}

const listPremises: Handler = (ctx) => {
  const account = ctx.services.world.account(callerOf(ctx).accountIndex);
  return json(
    200,
    page(
      account.premises.map((p) => p.premise),
      ctx.query,
    ),
  );
};

const getPremise: Handler = (ctx) => json(200, ownPremise(ctx, String(ctx.params.premiseId)).premise);

const getPremiseFeatures: Handler = (ctx) => {
  const record = ownPremise(ctx, String(ctx.params.premiseId));
  return json(200, { premiseId: record.premise.premiseId, features: record.features });
};

const listServicePoints: Handler = (ctx) => {
  const record = ownPremise(ctx, String(ctx.params.premiseId));
  return json(
    200,
    page(
      record.servicePoints.map((s) => s.servicePoint),
      ctx.query,
    ),
  );
};

const getServicePoint: Handler = (ctx) => {
  const premiseId = String(ctx.params.premiseId);
  const servicePointId = String(ctx.params.servicePointId);
  const record = ownPremise(ctx, premiseId);
  const sp = record.servicePoints.find((s) => s.servicePoint.servicePointId === servicePointId);
  if (!sp) {
    throw problem(PROBLEMS.NOT_FOUND, `Premise ${premiseId} has no service point ${servicePointId}.`);
  }
  return json(200, sp.servicePoint);
};

const listDevices: Handler = (ctx) => {
  const sp = ownServicePoint(ctx, String(ctx.params.servicePointId));
  return json(
    200,
    page(
      sp.devices.map((d) => d.device),
      ctx.query,
    ),
  );
};

const getDevice: Handler = (ctx) => json(200, ownDevice(ctx, String(ctx.params.deviceId)).device);

/** GetBalance: the meter's balance as of the mock's clock (`asAt`), due pending top-ups settled first. */
const getBalance: Handler = async (ctx) => {
  const record = ownDevice(ctx, String(ctx.params.deviceId));
  const generated = balanceOf(record);
  await settleDuePayments(ctx.services);
  const stored = await ctx.services.store.balance(record.device.deviceId, ctx.prefetched);
  const state = stored?.state ?? generated;
  return json(200, {
    deviceId: record.device.deviceId,
    asAt: isoTimestamp(ctx.services.clock.now()),
    ...state,
  });
};

export const ENERGY_HANDLERS: Record<string, HandlerEntry> = {
  ListPremises: { handle: listPremises },
  GetPremise: { handle: getPremise },
  GetPremiseFeatures: { handle: getPremiseFeatures },
  ListServicePoints: { handle: listServicePoints },
  GetServicePoint: { handle: getServicePoint },
  ListDevices: { handle: listDevices },
  GetDevice: { handle: getDevice },
  // Its balance overlay comes with the request's snapshot: one round trip on Redis (issue 12).
  GetBalance: {
    handle: getBalance,
    reads: (params) =>
      params.deviceId && params.deviceId.length <= 64 ? { balances: [params.deviceId] } : {},
  },
};
