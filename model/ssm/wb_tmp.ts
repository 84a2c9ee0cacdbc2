import process from "node:process";
import { scanForwardWasm, scanBackwardWasm } from "/work/main/model/ssm/scan_wasm.ts";
const [B,L,D,N]=[64,49,64,16];
const r = (n: number, s=1) => Float32Array.from({length:n}, (_,i)=> Math.sin(i*12.9898+n)*s);
const x = { u: r(B*L*D), delta: r(B*L*D,2), A: r(D*N).map(v=>-Math.exp(v)), B: r(B*L*N), C: r(B*L*N), D: r(D), deltaBias: r(D) };
const dims={batch:B,length:L,dim:D,state:N};
const y = new Float32Array(B*L*D); const dy=r(B*L*D);
const g={ u: new Float32Array(B*L*D), delta: new Float32Array(B*L*D), A: new Float32Array(D*N), B: new Float32Array(B*L*N), C: new Float32Array(B*L*N), D: new Float32Array(D), deltaBias: new Float32Array(D)};
const cf: number[]=[], cb: number[]=[];
for (let i=0;i<25;i++){ let c0=process.cpuUsage(); scanForwardWasm(x,dims,true,y); let c=process.cpuUsage(c0); cf.push((c.user+c.system)/1000); c0=process.cpuUsage(); scanBackwardWasm(x,dy,dims,true,g); c=process.cpuUsage(c0); cb.push((c.user+c.system)/1000); }
const med=(a: number[])=>[...a].sort((p,q)=>p-q)[a.length>>1];
console.log("cpu ms fwd", med(cf.slice(5)).toFixed(2), "bwd", med(cb.slice(5)).toFixed(2), "min", Math.min(...cf).toFixed(2), Math.min(...cb).toFixed(2));
