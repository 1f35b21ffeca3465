import type { Services } from '../handlers/context';
import personas from '../../fixtures/personas.json';

/** A persona with the ids the seeded world gave it (admin.openapi.yaml `Persona`). */
export interface PersonaWithIds {
  id: string;
  username: string;
  password: string;
  accountNumber: string;
  postcode: string;
  twoFactor: boolean;
  registered: boolean;
  premises: {
    premiseId: string;
    postcode: string;
    servicePoints: {
      servicePointId: string;
      fuelType: 'ELECTRICITY' | 'GAS';
      devices: { deviceId: string; deviceType: string; paymentMode?: string }[];
    }[];
  }[];
}

/**
 * The pinned personas (fixtures/personas.json) with their premises, service points (MPAN cores and
 * MPRNs) and devices as this world's seed generated them, so a test can start from known ids without
 * walking the API.
 */
export function personasWithIds(services: Services): PersonaWithIds[] {
  return personas.personas.map((p) => {
    const index = services.world.findAccountByNumber(p.accountNumber);
    const account = index === undefined ? undefined : services.world.account(index);
    return {
      id: p.id,
      username: p.username,
      password: p.password,
      accountNumber: p.accountNumber,
      postcode: p.postcode,
      twoFactor: p.twoFactor,
      registered: p.registered,
      premises: (account?.premises ?? []).map((premise) => ({
        premiseId: premise.premise.premiseId,
        postcode: premise.premise.address.postcode,
        servicePoints: premise.servicePoints.map((sp) => ({
          servicePointId: sp.servicePoint.servicePointId,
          fuelType: sp.servicePoint.fuelType,
          devices: sp.devices.map((d) => ({
            deviceId: d.device.deviceId,
            deviceType: d.device.deviceType,
            ...(d.device.paymentMode !== undefined ? { paymentMode: d.device.paymentMode } : {}),
          })),
        })),
      })),
    };
  });
}
