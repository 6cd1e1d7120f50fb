"""The 77 provinces of Thailand (76 provinces and Bangkok), as on Thai number plates."""

# (code, Thai name, English name); codes are stable identifiers stored in the database.
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("BKK", "กรุงเทพมหานคร", "Bangkok"),
    ("KBI", "กระบี่", "Krabi"),
    ("KRI", "กาญจนบุรี", "Kanchanaburi"),
    ("KSN", "กาฬสินธุ์", "Kalasin"),
    ("KPT", "กำแพงเพชร", "Kamphaeng Phet"),
    ("KKN", "ขอนแก่น", "Khon Kaen"),
    ("CTI", "จันทบุรี", "Chanthaburi"),
    ("CCO", "ฉะเชิงเทรา", "Chachoengsao"),
    ("CBI", "ชลบุรี", "Chon Buri"),
    ("CNT", "ชัยนาท", "Chai Nat"),
    ("CPM", "ชัยภูมิ", "Chaiyaphum"),
    ("CPN", "ชุมพร", "Chumphon"),
    ("CRI", "เชียงราย", "Chiang Rai"),
    ("CMI", "เชียงใหม่", "Chiang Mai"),
    ("TRG", "ตรัง", "Trang"),
    ("TRT", "ตราด", "Trat"),
    ("TAK", "ตาก", "Tak"),
    ("NYK", "นครนายก", "Nakhon Nayok"),
    ("NPT", "นครปฐม", "Nakhon Pathom"),
    ("NPM", "นครพนม", "Nakhon Phanom"),
    ("NMA", "นครราชสีมา", "Nakhon Ratchasima"),
    ("NRT", "นครศรีธรรมราช", "Nakhon Si Thammarat"),
    ("NSN", "นครสวรรค์", "Nakhon Sawan"),
    ("NBI", "นนทบุรี", "Nonthaburi"),
    ("NWT", "นราธิวาส", "Narathiwat"),
    ("NAN", "น่าน", "Nan"),
    ("BKN", "บึงกาฬ", "Bueng Kan"),
    ("BRM", "บุรีรัมย์", "Buri Ram"),
    ("PTE", "ปทุมธานี", "Pathum Thani"),
    ("PKN", "ประจวบคีรีขันธ์", "Prachuap Khiri Khan"),
    ("PRI", "ปราจีนบุรี", "Prachin Buri"),
    ("PNI", "ปัตตานี", "Pattani"),
    ("AYA", "พระนครศรีอยุธยา", "Phra Nakhon Si Ayutthaya"),
    ("PYO", "พะเยา", "Phayao"),
    ("PNA", "พังงา", "Phangnga"),
    ("PLG", "พัทลุง", "Phatthalung"),
    ("PCT", "พิจิตร", "Phichit"),
    ("PLK", "พิษณุโลก", "Phitsanulok"),
    ("PBI", "เพชรบุรี", "Phetchaburi"),
    ("PNB", "เพชรบูรณ์", "Phetchabun"),
    ("PRE", "แพร่", "Phrae"),
    ("PKT", "ภูเก็ต", "Phuket"),
    ("MKM", "มหาสารคาม", "Maha Sarakham"),
    ("MDH", "มุกดาหาร", "Mukdahan"),
    ("MSN", "แม่ฮ่องสอน", "Mae Hong Son"),
    ("YST", "ยโสธร", "Yasothon"),
    ("YLA", "ยะลา", "Yala"),
    ("RET", "ร้อยเอ็ด", "Roi Et"),
    ("RNG", "ระนอง", "Ranong"),
    ("RYG", "ระยอง", "Rayong"),
    ("RBR", "ราชบุรี", "Ratchaburi"),
    ("LRI", "ลพบุรี", "Lop Buri"),
    ("LPG", "ลำปาง", "Lampang"),
    ("LPN", "ลำพูน", "Lamphun"),
    ("LEI", "เลย", "Loei"),
    ("SSK", "ศรีสะเกษ", "Si Sa Ket"),
    ("SNK", "สกลนคร", "Sakon Nakhon"),
    ("SKA", "สงขลา", "Songkhla"),
    ("STN", "สตูล", "Satun"),
    ("SPK", "สมุทรปราการ", "Samut Prakan"),
    ("SKM", "สมุทรสงคราม", "Samut Songkhram"),
    ("SKN", "สมุทรสาคร", "Samut Sakhon"),
    ("SKW", "สระแก้ว", "Sa Kaeo"),
    ("SRI", "สระบุรี", "Saraburi"),
    ("SBR", "สิงห์บุรี", "Sing Buri"),
    ("STI", "สุโขทัย", "Sukhothai"),
    ("SPB", "สุพรรณบุรี", "Suphan Buri"),
    ("SNI", "สุราษฎร์ธานี", "Surat Thani"),
    ("SRN", "สุรินทร์", "Surin"),
    ("NKI", "หนองคาย", "Nong Khai"),
    ("NBP", "หนองบัวลำภู", "Nong Bua Lam Phu"),
    ("ATG", "อ่างทอง", "Ang Thong"),
    ("ACR", "อำนาจเจริญ", "Amnat Charoen"),
    ("UDN", "อุดรธานี", "Udon Thani"),
    ("UTD", "อุตรดิตถ์", "Uttaradit"),
    ("UTI", "อุทัยธานี", "Uthai Thani"),
    ("UBN", "อุบลราชธานี", "Ubon Ratchathani"),
)

PROVINCE_CODES = frozenset(code for code, _, _ in PROVINCES)
_BY_CODE = {code: (th, en) for code, th, en in PROVINCES}


def province_name(code: str, locale: str = "th") -> str:
    """The province's name in Thai or English ('' for an unknown code)."""
    names = _BY_CODE.get(code)
    if names is None:
        return ""
    return names[1] if locale == "en" else names[0]


def province_choices(locale: str = "th") -> list[tuple[str, str]]:
    """(code, name) pairs for a select field, in the given language."""
    return [(code, province_name(code, locale)) for code, _, _ in PROVINCES]
