"""The faults the simulator can inject (for drills, demos and tests): what each breaks, which\nsemantic signals it needs, and which apply to a kit."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from workshop.eol.definitions import KitDefinition


@dataclass(frozen=True)
class Fault:
    """An injectable fault and the one check that must catch it."""

    name: str
    check_id: str
    title_en: str
    title_th: str
    description_en: str
    description_th: str
    # The semantic names the fault acts on ("cell_voltage|cell_voltage_max": every cell, or the
    # BMS's own highest cell).
    needs: tuple[str, ...] = ()

    def description(self, lang: str = "en", kit: KitDefinition | None = None) -> str:
        """What the fault does, naming the cell or sensor it acts on in ``kit`` (a kit of 100
        cells and 20 sensors when none is given)."""
        text = self.description_th if lang == "th" else self.description_en
        cells, sensors = pack_size(kit) if kit is not None else (100, 20)
        return text.format(
            cell=fault_position(self.name, cells) or "",
            sensor=fault_position(self.name, sensors) or "",
        )

    @property
    def sequence(self) -> str:
        """The sequence ('ecu', 'bms', 'brakes') of the check that catches it."""
        return self.check_id.split(".", 1)[0]

    def applies_to(self, kit: KitDefinition) -> bool:
        """Whether this kit maps everything the fault and the check that catches it need."""
        from workshop.eol.engine import CHECKS

        return all(kit.maps(need) for need in (*self.needs, *CHECKS[self.check_id].needs))


_FAULT_LIST = [
    Fault(
        "lost_heartbeat",
        "ecu.heartbeat",
        "Lost ECU heartbeat",
        "สัญญาณชีพ ECU หาย",
        "The EV ECU stops sending its heartbeat frame.",
        "EV ECU หยุดส่งเฟรมสัญญาณชีพ (heartbeat)",
    ),
    Fault(
        "alive_counter_gap",
        "ecu.alive_counter",
        "Alive counter skips",
        "ตัวนับ alive กระโดด",
        "The ECU's alive counter skips a value every fifth frame.",
        "ตัวนับ alive ของ ECU ข้ามค่าทุก ๆ เฟรมที่ห้า",
    ),
    Fault(
        "hvil_open",
        "ecu.hvil",
        "HVIL open",
        "วงจร HVIL เปิด",
        "A high-voltage connector is not seated: the interlock loop is open.",
        "ขั้วต่อไฟฟ้าแรงสูงเสียบไม่สุด วงจรอินเตอร์ล็อก (HVIL) เปิด",
    ),
    Fault(
        "active_fault_code",
        "ecu.no_faults",
        "Active fault code",
        "มีรหัสข้อผิดพลาดค้าง",
        "The ECU holds an active DTC (P0C73, motor coolant pump).",
        "ECU มีรหัสข้อผิดพลาด (DTC) ค้างอยู่ (P0C73 ปั๊มน้ำหล่อเย็นมอเตอร์)",
    ),
    Fault(
        "ignored_drive_mode",
        "ecu.drive_modes",
        "Drive-mode request ignored",
        "ไม่ตอบสนองการเปลี่ยนโหมดขับขี่",
        "The ECU ignores requests for City mode.",
        "ECU ไม่ตอบสนองคำขอเปลี่ยนเป็นโหมด City",
    ),
    Fault(
        "inverter_no_response",
        "ecu.torque_response",
        "Inverter does not respond",
        "อินเวอร์เตอร์ไม่ตอบสนอง",
        "The inverter ignores torque requests and reports 0 Nm.",
        "อินเวอร์เตอร์ไม่ตอบสนองคำสั่งแรงบิด รายงาน 0 Nm",
    ),
    Fault(
        "cell_overvoltage",
        "bms.cell_voltage",
        "Cell over-voltage",
        "แรงดันเซลล์สูงเกิน",
        "Cell {cell} sits at 3.72 V.",
        "เซลล์ที่ {cell} มีแรงดัน 3.72 V",
    ),
    Fault(
        "cell_undervoltage",
        "bms.cell_voltage",
        "Cell under-voltage",
        "แรงดันเซลล์ต่ำเกิน",
        "Cell {cell} sits at 2.41 V.",
        "เซลล์ที่ {cell} มีแรงดัน 2.41 V",
    ),
    Fault(
        "cell_imbalance",
        "bms.cell_spread",
        "Cells out of balance",
        "เซลล์ไม่สมดุล",
        "Cell {cell} is 80 mV above the others (still inside the cell window).",
        "เซลล์ที่ {cell} สูงกว่าเซลล์อื่น 80 mV (ยังอยู่ในช่วงแรงดันเซลล์)",
    ),
    Fault(
        "over_temperature",
        "bms.temperatures",
        "Over-temperature",
        "อุณหภูมิสูงเกิน",
        "Temperature sensor {sensor} reads 58 °C.",
        "เซ็นเซอร์อุณหภูมิที่ {sensor} อ่านได้ 58 °C",
    ),
    Fault(
        "soc_implausible",
        "bms.soc",
        "Implausible SOC",
        "ค่า SOC ไม่สมเหตุสมผล",
        "The BMS reports 5 % SOC while the cells rest at about 60 %.",
        "BMS รายงาน SOC 5 % ขณะที่แรงดันเซลล์บ่งชี้ประมาณ 60 %",
    ),
    Fault(
        "isolation_fault",
        "bms.isolation",
        "Isolation fault",
        "ฉนวนไฟฟ้ารั่ว",
        "HV isolation has dropped to 20 kΩ.",
        "ความต้านทานฉนวนไฟฟ้าแรงสูงลดลงเหลือ 20 kΩ",
    ),
    Fault(
        "no_balancing_status",
        "bms.balancing",
        "No balancing status",
        "ไม่รายงานสถานะการบาลานซ์",
        "The BMS never sends its balancing status.",
        "BMS ไม่ส่งสถานะการบาลานซ์เซลล์",
    ),
    Fault(
        "charge_limit_out_of_range",
        "bms.charge_current_limit",
        "Charge limit out of range",
        "ขีดจำกัดกระแสชาร์จเกินช่วง",
        "The BMS allows 40 A, more than the on-board charger's 13.5 A.",
        "BMS อนุญาตกระแสชาร์จ 40 A เกินกว่าเครื่องชาร์จ 13.5 A",
    ),
    Fault(
        "stuck_contactor",
        "bms.contactors_open",
        "Welded main contactor",
        "คอนแทคเตอร์หลักติดค้าง",
        "The main contactor is welded closed and does not open.",
        "คอนแทคเตอร์หลักเชื่อมติด ไม่เปิดเมื่อสั่ง",
    ),
    Fault(
        "precharge_failure",
        "bms.precharge",
        "Precharge failure",
        "พรีชาร์จล้มเหลว",
        "The precharge resistor is open: the DC link never charges.",
        "ตัวต้านทานพรีชาร์จขาด แรงดัน DC link ไม่ขึ้น",
    ),
    Fault(
        "premature_contactor_close",
        "bms.precharge",
        "Contactor closes too early",
        "คอนแทคเตอร์ต่อเร็วเกินไป",
        "The BMS closes the main contactor at half the pack voltage, with current flowing.",
        "BMS ต่อคอนแทคเตอร์หลักที่แรงดันครึ่งหนึ่งของแพ็ก ขณะที่ยังมีกระแสไหล",
    ),
    Fault(
        "silent_bms_alarm",
        "bms.alarm_reporting",
        "Silent BMS alarm",
        "BMS ไม่แจ้งเตือน",
        "The BMS never raises its CAN alarms.",
        "BMS ไม่ส่งสัญญาณเตือนทาง CAN",
    ),
    Fault(
        "dead_pump",
        "brakes.vacuum_build",
        "Dead vacuum pump",
        "ปั๊มสุญญากาศไม่ทำงาน",
        "The electric vacuum pump does not run.",
        "ปั๊มสุญญากาศไฟฟ้าไม่ทำงาน",
    ),
    Fault(
        "vacuum_leak",
        "brakes.vacuum_hold",
        "Vacuum leak",
        "สุญญากาศรั่ว",
        "The booster or its hose leaks 0.8 kPa/s.",
        "หม้อลมเบรกหรือท่อรั่ว 0.8 kPa/s",
    ),
    Fault(
        "pump_threshold_low",
        "brakes.vacuum_recovery",
        "Pump switch-on threshold too low",
        "ตั้งค่าจุดเริ่มปั๊มต่ำเกินไป",
        "The pump controller only restarts below 35 kPa, so vacuum does not recover after a "
        "pedal press.",
        "ตัวควบคุมปั๊มเริ่มทำงานเมื่อต่ำกว่า 35 kPa เท่านั้น สุญญากาศจึงไม่ฟื้นหลังเหยียบเบรก",
    ),
    Fault(
        "brake_switch_stuck",
        "brakes.brake_switch",
        "Brake switch stuck",
        "สวิตช์เบรกค้าง",
        "The brake switch stays released whatever the pedal does.",
        "สวิตช์เบรกค้างที่ตำแหน่งปล่อย ไม่ว่าจะเหยียบเบรกหรือไม่",
    ),
    Fault(
        "regen_disabled",
        "brakes.regen_request",
        "No regenerative braking",
        "ไม่มีการเบรกแบบคืนพลังงาน",
        "The ECU never requests regenerative torque.",
        "ECU ไม่สั่งแรงบิดเบรกคืนพลังงาน",
    ),
    Fault(
        "regen_not_cut",
        "brakes.regen_cut",
        "Regeneration not cut",
        "ไม่ตัดการคืนพลังงาน",
        "The ECU keeps requesting regenerative torque after the pedal is released.",
        "ECU ยังสั่งแรงบิดคืนพลังงานต่อหลังปล่อยแป้นเบรก",
    ),
    Fault(
        "ac_isolation_fault",
        "bms.ac_isolation",
        "AC-side isolation fault",
        "ฉนวนด้าน AC รั่ว",
        "The on-board charger's AC input leaks to the chassis: 100 kΩ, enough for the DC limit, "
        "far below 500 Ω/V.",
        "ขาเข้า AC ของเครื่องชาร์จรั่วลงตัวถัง เหลือ 100 kΩ ผ่านเกณฑ์ด้าน DC แต่ต่ำกว่า 500 Ω/V มาก",
    ),
    Fault(
        "early_contactor_close",
        "bms.precharge_ratio",
        "Main contactor closes at 85 %",
        "คอนแทคเตอร์หลักต่อที่ 85 %",
        "The BMS closes the main contactor when the DC link is at 85 % of the pack: little "
        "current yet, but an arc at every start.",
        "BMS ต่อคอนแทคเตอร์หลักเมื่อ DC link ได้ 85 % ของแพ็ก กระแสยังน้อยแต่เกิดประกายไฟทุกครั้งที่สตาร์ท",
    ),
    Fault(
        "hvil_no_shutdown",
        "bms.hvil_shutdown",
        "HVIL open ignored",
        "ไม่ตัดไฟเมื่อ HVIL เปิด",
        "The ECU reports an open interlock loop but keeps the contactors closed.",
        "ECU รายงานว่าวงจร HVIL เปิด แต่ไม่สั่งเปิดคอนแทคเตอร์",
    ),
    Fault(
        "drive_while_plugged",
        "ecu.charge_inhibit",
        "Drive not inhibited while plugged in",
        "ขับได้ขณะเสียบสายชาร์จ",
        "The ECU sees the charge plug but still passes torque requests to the inverter.",
        "ECU ตรวจพบสายชาร์จแต่ยังส่งคำสั่งแรงบิดไปยังอินเวอร์เตอร์",
    ),
    Fault(
        "dcdc_undervoltage",
        "ecu.dcdc_output",
        "DC-DC sags under load",
        "DC-DC แรงดันตกเมื่อมีโหลด",
        "The 12 V DC-DC converter's output falls to 12.4 V under the load bank.",
        "แรงดันขาออกของ DC-DC 12 V ตกเหลือ 12.4 V เมื่อเปิดโหลด",
    ),
    Fault(
        "no_vacuum_warning",
        "brakes.low_vacuum_warning",
        "No low-vacuum warning",
        "ไม่เตือนแรงดูดต่ำ",
        "The cluster never shows the low brake-vacuum warning.",
        "หน้าปัดไม่แสดงไฟเตือนแรงดูดหม้อลมเบรกต่ำ",
    ),
    Fault(
        "no_thermal_warning",
        "bms.thermal_warning",
        "No thermal-event warning",
        "ไม่เตือนเหตุความร้อนแบตเตอรี่",
        "The BMS reports a thermal event but the driver is never warned.",
        "BMS รายงานเหตุความร้อน แต่ไม่มีการแจ้งเตือนผู้ขับ",
    ),
]

_FAULT_NEEDS = {
    "lost_heartbeat": ("ecu_heartbeat",),
    "alive_counter_gap": ("alive_counter",),
    "hvil_open": ("hvil",),
    "active_fault_code": ("fault_count",),
    "ignored_drive_mode": ("drive_mode=city",),
    "inverter_no_response": ("torque_feedback",),
    # shown through every cell, or through a BMS's own lowest / highest cell
    "cell_overvoltage": ("cell_voltage|cell_voltage_max",),
    "cell_undervoltage": ("cell_voltage|cell_voltage_min",),
    "cell_imbalance": ("cell_voltage|cell_voltage_min+cell_voltage_max",),
    "over_temperature": ("cell_temperature",),
    "soc_implausible": ("soc",),
    "isolation_fault": ("isolation_resistance",),
    "no_balancing_status": ("balancing_active",),
    "charge_limit_out_of_range": ("charge_current_limit",),
    "stuck_contactor": ("contactor_state",),
    "precharge_failure": ("contactor_state",),
    "premature_contactor_close": ("contactor_state", "pack_current"),
    "silent_bms_alarm": ("alarm_test",),
    "dead_pump": ("brake_vacuum",),
    "vacuum_leak": ("brake_vacuum",),
    "pump_threshold_low": ("brake_vacuum", "brake_pedal"),
    "brake_switch_stuck": ("brake_switch",),
    "regen_disabled": ("regen_torque",),
    "regen_not_cut": ("regen_torque",),
    "ac_isolation_fault": ("ac_isolation_resistance",),
    "early_contactor_close": ("contactor_state", "dc_link_voltage"),
    "hvil_no_shutdown": ("hvil_break",),
    "drive_while_plugged": ("charge_plug_simulation",),
    "dcdc_undervoltage": ("dcdc_voltage",),
    "no_vacuum_warning": ("vacuum_warning",),
    "no_thermal_warning": ("thermal_warning",),
}
FAULTS: dict[str, Fault] = {
    fault.name: replace(fault, needs=_FAULT_NEEDS[fault.name]) for fault in _FAULT_LIST
}


# Where in the pack a measurement fault acts, as a fraction of the kit's cells (or temperature
# sensors): cell 37, 63 and 12 and sensor 7 of the 100-cell, 20-sensor pack the faults were
# first written for, and the same places in any other pack.
_POSITIONS = {
    "cell_overvoltage": 0.37,
    "cell_undervoltage": 0.63,
    "cell_imbalance": 0.12,
    "over_temperature": 0.35,
}


def fault_position(name: str, count: int) -> int | None:
    """The 1-based cell (or sensor) a measurement fault acts on in a pack of ``count``."""
    share = _POSITIONS.get(name)
    if share is None or count < 1:
        return None
    return min(count, max(1, math.ceil(round(share * count, 6))))


def pack_size(kit: KitDefinition) -> tuple[int, int]:
    """Cells and temperature sensors of the kit's pack as its BMS reports them (a BMS that
    reports only its extremes: the 100 cells and 20 sensors the simulator then models)."""
    cells = len(kit.indexed("cell_voltage")) if kit.has("cell_voltage") else 100
    sensors = len(kit.indexed("cell_temperature")) if kit.has("cell_temperature") else 20
    return cells, sensors


def applicable_faults(kit: KitDefinition) -> dict[str, Fault]:
    """The faults a simulated vehicle of ``kit`` can show and its EOL run can reveal."""
    return {name: fault for name, fault in FAULTS.items() if fault.applies_to(kit)}
