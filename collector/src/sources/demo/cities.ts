/**
 * Real city coordinates (WGS 84, city centres, rounded to 4 decimals) and plausible ISPs, so the
 * demo's connections land on a Grafana geomap where the cities are.
 */
export interface DemoCity {
  city: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  latitude: number;
  longitude: number;
  isps: string[];
  /** Relative share of viewers. */
  weight: number;
}

export const DEMO_CITIES: readonly DemoCity[] = [
  { city: 'New York', country: 'US', latitude: 40.7128, longitude: -74.006, isps: ['Verizon', 'Spectrum', 'Optimum'], weight: 8 },
  { city: 'Los Angeles', country: 'US', latitude: 34.0522, longitude: -118.2437, isps: ['Spectrum', 'AT&T', 'Frontier'], weight: 6 },
  { city: 'Chicago', country: 'US', latitude: 41.8781, longitude: -87.6298, isps: ['Comcast', 'AT&T'], weight: 4 },
  { city: 'London', country: 'GB', latitude: 51.5074, longitude: -0.1278, isps: ['BT', 'Virgin Media', 'Sky'], weight: 7 },
  { city: 'Manchester', country: 'GB', latitude: 53.4808, longitude: -2.2426, isps: ['BT', 'TalkTalk'], weight: 3 },
  { city: 'Berlin', country: 'DE', latitude: 52.52, longitude: 13.405, isps: ['Deutsche Telekom', 'Vodafone DE', 'O2 DE'], weight: 5 },
  { city: 'Munich', country: 'DE', latitude: 48.1351, longitude: 11.582, isps: ['Deutsche Telekom', 'M-net'], weight: 3 },
  { city: 'Paris', country: 'FR', latitude: 48.8566, longitude: 2.3522, isps: ['Orange', 'Free', 'SFR'], weight: 6 },
  { city: 'Lyon', country: 'FR', latitude: 45.764, longitude: 4.8357, isps: ['Orange', 'Bouygues'], weight: 2 },
  { city: 'Madrid', country: 'ES', latitude: 40.4168, longitude: -3.7038, isps: ['Movistar', 'Vodafone ES'], weight: 4 },
  { city: 'Barcelona', country: 'ES', latitude: 41.3874, longitude: 2.1686, isps: ['Movistar', 'Orange ES'], weight: 3 },
  { city: 'São Paulo', country: 'BR', latitude: -23.5505, longitude: -46.6333, isps: ['Vivo', 'Claro BR', 'TIM'], weight: 6 },
  { city: 'Rio de Janeiro', country: 'BR', latitude: -22.9068, longitude: -43.1729, isps: ['Claro BR', 'Oi'], weight: 3 },
  { city: 'Mumbai', country: 'IN', latitude: 19.076, longitude: 72.8777, isps: ['Jio', 'Airtel', 'ACT'], weight: 6 },
  { city: 'Delhi', country: 'IN', latitude: 28.7041, longitude: 77.1025, isps: ['Airtel', 'Jio'], weight: 5 },
  { city: 'Tokyo', country: 'JP', latitude: 35.6762, longitude: 139.6503, isps: ['NTT', 'KDDI', 'SoftBank'], weight: 6 },
  { city: 'Osaka', country: 'JP', latitude: 34.6937, longitude: 135.5023, isps: ['NTT', 'eo'], weight: 2 },
  { city: 'Lagos', country: 'NG', latitude: 6.5244, longitude: 3.3792, isps: ['MTN', 'Airtel NG', 'Glo'], weight: 3 },
  { city: 'Sydney', country: 'AU', latitude: -33.8688, longitude: 151.2093, isps: ['Telstra', 'Optus', 'TPG'], weight: 4 },
  { city: 'Mexico City', country: 'MX', latitude: 19.4326, longitude: -99.1332, isps: ['Telmex', 'Totalplay', 'izzi'], weight: 4 },
  { city: 'Cairo', country: 'EG', latitude: 30.0444, longitude: 31.2357, isps: ['TE Data', 'Vodafone EG'], weight: 3 },
  { city: 'Toronto', country: 'CA', latitude: 43.6532, longitude: -79.3832, isps: ['Rogers', 'Bell'], weight: 3 },
];
